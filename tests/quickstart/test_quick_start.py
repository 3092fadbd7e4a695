"""The README's quick start on a fresh Debian 12, exactly as a new user types it.

A Debian 12 minbase root from debootstrap with ``python3`` (which every
Debian 12 and Ubuntu 24.04 has) and nothing else: no pip, uv, tox or Go. The
repository's committed HEAD is cloned into it, and the commands of the
README's quick start run there one after the other, as root, word for word.

The root is entered in private mount and PID namespaces with ``pivot_root``,
not ``chroot``: the substrate tier boots a systemd-nspawn container inside it,
and joining that container with ``nsenter`` lands at the root of its mount
namespace, which after a mere ``chroot`` would be the host's. The host's
network is used as it is.

Shared in, because they hide no missing step: apt's downloaded packages, uv's
cache of downloaded packages and Go's module cache. And the host's CA bundle,
named by ``SSL_CERT_FILE`` and its kin, for a network whose TLS only the host's
trust store accepts. Nothing of ``~/.cache/example-blog`` or
``~/.cache/nocloud`` is shared: uv itself, the container root, Pebble and
actionlint are all set up again in the root.

Slow (minutes: everything is installed and built anew), so it has its own tox
env, ``quickstart``, which CI runs after the README's test command.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from nocloud.cache import cache_dir

REPO = Path(__file__).resolve().parents[2]
INSIDE = "/root/example-blog"
PRISTINE = cache_dir() / "quickstart-bookworm-minbase"
# Each command of the quick start; the whole run is bounded too.
COMMAND_TIMEOUT = 40 * 60
BUILD_TIMEOUT = 15 * 60
TRUST_VARIABLES = ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
HOST_CA_INSIDE = "/usr/local/share/host-ca.crt"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def quick_start_commands(readme: str) -> list[str]:
    """The commands of the README's quick start: its first ``sh`` block, comments dropped."""
    section = readme.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block, "the quick start has no sh block"
    return [
        line.split("#", 1)[0].strip()
        for line in block.group(1).splitlines()
        if line.split("#", 1)[0].strip()
    ]


def host_ca_bundle() -> Path | None:
    for name in TRUST_VARIABLES:
        if (value := os.environ.get(name)) and Path(value).is_file():
            return Path(value)
    default = Path("/etc/ssl/certs/ca-certificates.crt")
    return default if default.is_file() else None


def missing_prerequisite() -> str | None:
    if os.geteuid() != 0:
        return "not root: the quick start runs as root in a fresh root of its own"
    for tool in ("debootstrap", "unshare", "pivot_root", "git"):
        if shutil.which(tool) is None:
            return f"no {tool} on PATH"
    return None


def pristine_root() -> Path:
    """The cached, untouched Debian 12 minbase root with python3 (built on first use)."""
    root = PRISTINE / "root"
    if (root / "usr/bin/python3").exists():
        return root
    shutil.rmtree(PRISTINE, ignore_errors=True)
    PRISTINE.mkdir(parents=True)
    scratch = PRISTINE / "building"
    subprocess.run(
        [
            *("debootstrap", "--variant=minbase", "--include=python3"),
            *("bookworm", str(scratch), "http://deb.debian.org/debian"),
        ],
        check=True,
        capture_output=True,
        timeout=BUILD_TIMEOUT,
    )
    scratch.rename(root)
    return root


def shared_caches() -> dict[str, Path]:
    """Host directories bound into the root: downloads only, nothing built."""
    caches = cache_dir() / "quickstart-shared"
    go_modules = (
        subprocess.run(
            ["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if shutil.which("go")
        else ""
    )
    return {
        "/var/cache/apt/archives": caches / "apt",
        "/root/.cache/uv": caches / "uv",
        "/root/go/pkg/mod": Path(go_modules) if go_modules else caches / "go",
    }


def enter(root: Path, command: str) -> list[str]:
    """The argv that runs ``command`` as root with ``root`` as its real root, in a bare env."""
    lines = [
        "set -e",
        'R="$0"',
        'mount --bind "$R" "$R"',
        'mount -t proc proc "$R/proc"',
        'mount --rbind /sys "$R/sys"',
        'mount --rbind /dev "$R/dev"',
        'mount -t tmpfs tmpfs "$R/run"',
        'mount -t tmpfs tmpfs "$R/tmp"',
    ]
    for inside, host in shared_caches().items():
        host.mkdir(parents=True, exist_ok=True)
        lines += [
            f'mkdir -p "$R{inside}"',
            f'mount --bind {shlex.quote(str(host))} "$R{inside}"',
        ]
    lines += [
        'cp /etc/resolv.conf "$R/etc/resolv.conf"',
        'mkdir -p "$R/.old-root" && cd "$R" && pivot_root . .old-root && umount -l /.old-root',
    ]
    env = ["HOME=/root", f"PATH={PATH}", "LANG=C.UTF-8", "TERM=dumb"]
    if (root / HOST_CA_INSIDE.lstrip("/")).is_file():
        env += [f"{name}={HOST_CA_INSIDE}" for name in TRUST_VARIABLES]
    lines.append(
        f"exec /usr/bin/env -i {shlex.join(env)} /bin/bash -c "
        f"{shlex.quote(f'cd {INSIDE} && {command}')}"
    )
    return [
        *("unshare", "--mount", "--pid", "--fork", "--propagation", "private"),
        *("bash", "-c", "\n".join(lines), str(root)),
    ]


def test_the_quick_start_has_two_commands_a_demo_and_every_test():
    commands = quick_start_commands((REPO / "README.md").read_text())

    assert commands == ["tools/demo", "tools/test-all"]


def test_a_fresh_debian_12_runs_the_quick_start_as_written(tmp_path: Path):
    if reason := missing_prerequisite():
        pytest.skip(f"the fresh-root quick start cannot run here: {reason}")
    root = tmp_path / "root"
    subprocess.run(["cp", "-a", "--reflink=auto", str(pristine_root()), str(root)], check=True)
    for tool in ("pip", "pip3", "uv", "tox", "go"):
        assert not any((root / d / tool).exists() for d in ("usr/bin", "usr/local/bin")), tool
    subprocess.run(
        ["git", "clone", "--quiet", str(REPO), str(root / INSIDE.lstrip("/"))], check=True
    )
    if (bundle := host_ca_bundle()) is not None:
        shutil.copy(bundle, root / HOST_CA_INSIDE.lstrip("/"))

    outputs: dict[str, str] = {}
    for command in quick_start_commands((REPO / "README.md").read_text()):
        began = time.monotonic()
        result = subprocess.run(
            enter(root, command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        took = time.monotonic() - began
        print(f"{command}: exit {result.returncode} in {took:.0f} s")
        assert result.returncode == 0, f"{command} failed:\n{result.stdout[-6000:]}"
        outputs[command] = result.stdout

    assert "demo: every row shows what the charm must do" in outputs["tools/demo"]
    tests = outputs["tools/test-all"]
    assert "congratulations :)" in tests
    skipped = re.findall(r"^SKIPPED \[\d+\] (\S+?)(?::\d+)?: (.*)$", tests, re.MULTILINE)
    # Debian 12 has no Python 3.12 to pack the charms with; everything else runs.
    assert {path.split("/")[1] for path, _ in skipped} <= {"pack"}, skipped
    assert all("3.12" in reason for _, reason in skipped), skipped
