"""Build a Go program from its module at a pinned version, once, and cache the binary.

Pebble, the real service manager of an emulated pod, is a Go module that no
package registry ships as a binary; so are other tools a charm's tests may
want (a workflow linter, say). The documented ``go install
MODULE@VERSION`` also asks the module proxy for the module's version list (to
look for a deprecation notice), and a proxy that serves the pinned version
but refuses the list makes it fail; building inside a scratch module with
``go get`` + ``go build`` needs nothing but the pinned version.
``CGO_ENABLED=0`` makes the binary static, so it runs in any root directory.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from nocloud.cache import cache_dir
from nocloud.settings import GO_BUILD_TIMEOUT, GO_COMMAND_TIMEOUT, MINIMUM_GO


class GoBuildError(Exception):
    """The program cannot be built here; the message says why."""


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def _go_version(go: str) -> tuple[int, ...]:
    result = subprocess.run(
        [go, "env", "GOVERSION"], capture_output=True, text=True, timeout=GO_COMMAND_TIMEOUT
    )
    match = re.match(r"go(\d+)\.(\d+)", result.stdout.strip())
    return tuple(int(part) for part in match.groups()) if match else (0, 0)


def cached_path(name: str, version: str) -> Path:
    """Where the binary of ``name`` at ``version`` is cached."""
    return cache_dir() / f"{name}-{version}" / name


def go_binary(
    module: str, package: str, version: str, name: str, *, works: Callable[[Path], bool]
) -> Path:
    """``package`` of ``module`` at ``version``, built on first use; ``works`` vets a binary."""
    target = cached_path(name, version)
    if target.is_file() and works(target):
        return target
    go = shutil.which("go")
    if go is None:
        raise GoBuildError(
            f"no `go` on PATH to build {name} {version} (needs Go >= {_dotted(MINIMUM_GO)})"
        )
    go_version = _go_version(go)
    if go_version < MINIMUM_GO:
        raise GoBuildError(
            f"Go {_dotted(go_version)} cannot build {name} {version}"
            f" (needs Go >= {_dotted(MINIMUM_GO)})"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    # GOTOOLCHAIN=auto (unless set) lets a distribution's Go, which defaults to
    # "local", fetch the newer toolchain that the module's go.mod asks for.
    env = {"GOTOOLCHAIN": "auto", **os.environ, "CGO_ENABLED": "0", "GOWORK": "off"}
    with tempfile.TemporaryDirectory(prefix=f"{name}-build-") as scratch:
        steps = (
            [go, "mod", "init", f"{name}build"],
            [go, "get", f"{package}@{version}"],
            [go, "build", "-trimpath", "-o", f"{target}.new", package],
        )
        for step in steps:
            try:
                result = subprocess.run(
                    step,
                    cwd=scratch,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=GO_BUILD_TIMEOUT,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise GoBuildError(f"building {name} {version} timed out") from None
            if result.returncode != 0:
                tail = " | ".join(result.stderr.strip().splitlines()[-3:])
                raise GoBuildError(f"building {name} {version} failed at `go {step[1]}`: {tail}")
    os.replace(f"{target}.new", target)
    if not works(target):
        raise GoBuildError(f"the {name} built from {module}@{version} does not work")
    return target
