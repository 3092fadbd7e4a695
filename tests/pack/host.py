"""What the pack tier needs from the host: bounded commands and a Python of a given version."""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

ENV_PROBE = "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])"


def run(
    command: Sequence[str | os.PathLike[str]],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command with its output captured; on timeout kill its whole process group."""
    with subprocess.Popen(
        [os.fspath(part) for part in command],
        cwd=cwd,
        env=None if env is None else dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _python_version(candidate: str | Path) -> tuple[Path, str] | None:
    """The real executable behind ``candidate`` and its ``X.Y``, if it runs at all."""
    try:
        result = run([candidate, "-I", "-c", ENV_PROBE], timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = result.stdout.split()
    if result.returncode != 0 or len(lines) != 2:
        return None
    return Path(os.path.realpath(lines[0])), lines[1]


@functools.cache
def find_python(version: str) -> Path | None:
    """A working interpreter of ``version`` (``"3.12"``), or None; looked up once per session.

    ``pythonX.Y`` on PATH is tried first (and must really run: a pyenv shim
    for a version that is not selected does not), then pyenv's install of
    that version, then one that uv manages.
    """
    candidates: list[str | Path] = []
    if on_path := shutil.which(f"python{version}"):
        candidates.append(on_path)
    if pyenv := shutil.which("pyenv"):
        try:
            prefix = run([pyenv, "prefix", version], timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            prefix = None
        if prefix is not None and prefix.returncode == 0:
            candidates.extend(Path(p) / "bin" / f"python{version}" for p in prefix.stdout.split())
    if uv := find_uv():
        try:
            managed = run([uv, "python", "find", "--managed-python", version], timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            managed = None
        if managed is not None and managed.returncode == 0:
            candidates.append(managed.stdout.strip())
    for candidate in candidates:
        found = _python_version(candidate)
        if found is not None and found[1] == version:
            return found[0]
    return None


@functools.cache
def find_uv() -> str | None:
    """The uv executable: the one running us under ``uv run`` if any, else uv on PATH."""
    for candidate in (os.environ.get("UV"), shutil.which("uv")):
        if not candidate:
            continue
        try:
            works = run([candidate, "--version"], timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            works = False
        if works:
            return candidate
    return None
