"""Test support: pack the charms on the CI host, which is Debian and not the charms' base.

This module exists only because the CI host is Debian 12 with neither LXD nor
Multipass: charmcraft can build there neither in its usual managed instance
nor with ``--destructive-mode``, which refuses any host but Ubuntu 24.04. It is
not how anyone packs the charms (that is ``tools/pack.py``, which contains
none of this). To let a destructive build run here, and only for the tests:

* charmcraft runs from a venv made with Debian's ``python3`` and its system
  packages (charmcraft needs python3-apt, which is not on PyPI), cached under
  ``${XDG_CACHE_HOME:-~/.cache}/nocloud/``
  (``nocloud.cache``);
* it runs in a private mount namespace in which an Ubuntu 24.04 os-release is
  bind-mounted over the host's, so that charmcraft alone sees Ubuntu 24.04 and
  the mount ends with the namespace;
* the test's own assembled copy of ``charmcraft.yaml`` loses its
  ``build-snaps`` (there is no snap store here), and uv is put on PATH instead,
  which is all that snap provides;
* a Python 3.12 comes first on PATH, so the charm's venv is built for the
  Python that Ubuntu 24.04 has, as in a real build.

Everything else (laying out each variant, running charmcraft, collecting the
charms) is done by the same functions of ``tools/pack.py`` that a user runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nocloud.cache import cache_dir
from tests.pack.host import find_python, find_uv, run
from tools import pack

CHARMCRAFT = "charmcraft==4.5.0"
# Debian's own pyOpenSSL (visible through the system packages) is older than
# the cryptography that charmcraft brings in; upgrading it keeps them in step.
CHARMCRAFT_EXTRAS = ("pyopenssl",)
SYSTEM_PYTHON = Path("/usr/bin/python3")
# What the charms' base (Ubuntu 24.04) says about itself, as far as charmcraft asks.
UBUNTU_2404_OS_RELEASE = """\
PRETTY_NAME="Ubuntu 24.04 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=noble
"""
# The snaps of charmcraft.yaml this support stands in for, and with what.
REPLACED_BUILD_SNAPS = {"astral-uv": "uv on PATH"}
BASE_PYTHON = "3.12"
PACK_TIMEOUT = 600
VENV_TIMEOUT = 900


@dataclass(frozen=True)
class PackedCharm:
    """One variant packed here: the .charm file and how long charmcraft took."""

    variant: str
    path: Path
    seconds: float


def unmet_need() -> str | None:
    """Why packing cannot run on this host, or None when it can."""
    if os.geteuid() != 0:
        return "packing here needs root (a bind mount in a private mount namespace)"
    for tool in ("unshare", "mount", "timeout"):
        if shutil.which(tool) is None:
            return f"`{tool}` not found (util-linux / coreutils)"
    try:
        probe = run(["unshare", "--mount", "--propagation", "private", "true"], timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"`unshare --mount` cannot run here: {e}"
    if probe.returncode != 0:
        return f"`unshare --mount` is not permitted here: {probe.stderr.strip()}"
    try:
        system = run([SYSTEM_PYTHON, "-c", "import apt_pkg, ensurepip"], timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        system = None
    if system is None or system.returncode != 0:
        return (
            f"{SYSTEM_PYTHON} lacks Debian's python3-apt or python3-venv "
            "(as root, tools/setup-test-host installs them)"
        )
    if find_python(BASE_PYTHON) is None:
        return f"no Python {BASE_PYTHON} found (python{BASE_PYTHON} on PATH, pyenv or uv)"
    if find_uv() is None:
        return "uv not found (neither $UV nor uv on PATH)"
    return None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def charmcraft() -> Path:
    """The path of charmcraft in its cached venv, made first if it is missing or half-made."""
    spec = " ".join([CHARMCRAFT, *CHARMCRAFT_EXTRAS])
    venv = cache_dir() / CHARMCRAFT.replace("==", "-")
    ready = venv / "ready"
    with _locked(cache_dir() / "charmcraft.lock"):
        if not (ready.exists() and ready.read_text() == spec):
            shutil.rmtree(venv, ignore_errors=True)
            pip = [venv / "bin/python", "-m", "pip", "install", "--quiet"]
            steps = [
                [SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", venv],
                [*pip, CHARMCRAFT, "--upgrade", *CHARMCRAFT_EXTRAS],
            ]
            for step in steps:
                result = run(step, timeout=VENV_TIMEOUT)
                if result.returncode != 0:
                    raise RuntimeError(f"{step} failed:\n{result.stdout}\n{result.stderr}")
            ready.write_text(spec)
    return venv / "bin/charmcraft"


def replace_build_snaps(project: Path) -> None:
    """Drop ``build-snaps`` from an assembled copy's charmcraft.yaml (test support only).

    Only snaps this support stands in for may be dropped; any other one is an
    error, since the build here would then lack it.
    """
    path = project / "charmcraft.yaml"
    recipe: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    for name, part in recipe.get("parts", {}).items():
        snaps = part.pop("build-snaps", [])
        if unknown := sorted(set(snaps) - REPLACED_BUILD_SNAPS.keys()):
            raise RuntimeError(f"part {name!r} needs build snaps this host lacks: {unknown}")
    path.write_text(
        "# Test copy: build-snaps replaced by tools on PATH (tests/pack/support.py).\n"
        + yaml.safe_dump(recipe, sort_keys=False),
        encoding="utf-8",
    )


def _environment(work: Path) -> dict[str, str]:
    """The environment charmcraft runs in: Python 3.12 and uv first on PATH, no Python settings."""
    python = find_python(BASE_PYTHON)
    uv = find_uv()
    assert python is not None
    assert uv is not None
    tools = work / "bin"
    tools.mkdir(parents=True, exist_ok=True)
    for name, target in {"python3": python, f"python{BASE_PYTHON}": python, "uv": uv}.items():
        (tools / name).unlink(missing_ok=True)
        (tools / name).symlink_to(target)
    runtime = work / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "VIRTUAL_ENV", "CONDA", "UV_PYTHON", "UV_PROJECT"))
    }
    env["PATH"] = os.pathsep.join(
        [str(tools), str(charmcraft().parent), os.environ.get("PATH", os.defpath)]
    )
    env["XDG_RUNTIME_DIR"] = str(runtime)
    return env


def _in_ubuntu_namespace(os_release: Path) -> list[str]:
    """The command prefix that runs a command in a private namespace seeing Ubuntu 24.04."""
    target = os.path.realpath("/etc/os-release")
    if not Path(target).is_file():
        target = "/usr/lib/os-release"
    return [
        # timeout(1) kills the whole process group, so no part of a stuck build survives.
        *("timeout", "--kill-after=10", str(PACK_TIMEOUT)),
        *("unshare", "--mount", "--propagation", "private"),
        *("sh", "-c", 'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh"),
        *(str(os_release), target),
    ]


def pack_here(variants: tuple[str, ...], work: Path) -> dict[str, PackedCharm]:
    """Pack each variant destructively on this host; charms land in ``work/charms``."""
    env = _environment(work)
    os_release = work / "os-release"
    os_release.write_text(UBUNTU_2404_OS_RELEASE, encoding="utf-8")
    command = _in_ubuntu_namespace(os_release) + pack.pack_command(
        str(charmcraft()), destructive_mode=True
    )
    packed: dict[str, PackedCharm] = {}
    for variant in variants:
        project = pack.assemble_project(variant, work / "build")
        replace_build_snaps(project)
        started = time.monotonic()
        pack.run_charmcraft(
            command, project, timeout=PACK_TIMEOUT + 60, env=env, log=work / f"{variant}.log"
        )
        seconds = time.monotonic() - started
        (charm,) = pack.collect_charms(project, work / "charms")
        packed[variant] = PackedCharm(variant, charm, seconds)
    return packed


def analyse(charm: Path, work: Path) -> tuple[int, list[dict[str, str]]]:
    """``charmcraft analyse`` of a packed charm: its exit status and its results."""
    result = run(
        [charmcraft(), "analyse", "--format", "json", charm],
        timeout=120,
        cwd=work,
        env=_environment(work),
    )
    try:
        results = json.loads(result.stdout)
    except json.JSONDecodeError as e:
        raise RuntimeError(
            f"charmcraft analyse gave no JSON:\n{result.stdout}\n{result.stderr}"
        ) from e
    return result.returncode, results


def expand_extensions(project: Path, work: Path) -> dict[str, Any]:
    """``charmcraft expand-extensions`` of an assembled project, as charmcraft validates it."""
    result = run(
        [charmcraft(), "expand-extensions"],
        timeout=120,
        cwd=project,
        env=_environment(work),
    )
    if result.returncode != 0:
        raise RuntimeError(f"charmcraft expand-extensions refused {project}:\n{result.stderr}")
    return yaml.safe_load(result.stdout)
