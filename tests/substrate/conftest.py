"""Fixtures every real-substrate test shares: the machine's root and a booted machine, Pebble.

Each skips (with the reason in the ``-ra`` summary) when its substrate cannot
run here; ``tests/conftest.py`` turns that into a failure where the tier is
required.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nocloud import nspawn, pebble_pod
from tests.substrate import k8s_unit
from tests.substrate.machine_unit import (
    PORT,
    MachineBlog,
    health_now,
    machine_container,
    machine_root,
)


def unavailable(reason: str) -> None:
    """Skip because systemd cannot run here."""
    pytest.skip(f"real systemd (systemd-nspawn) unavailable: {reason}")


@pytest.fixture(scope="session")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cached container root (built on first use), proven bootable once per session.

    After this probe boot, a container that does not boot is a failure, not a skip.
    """
    if reason := nspawn.missing_prerequisite(building=False):
        unavailable(reason)
    try:
        path = machine_root()
        with machine_container(path, tmp_path_factory.mktemp("probe")) as probe:
            probe.boot()
    except (nspawn.SubstrateUnavailableError, nspawn.BootError) as e:
        unavailable(str(e))
        raise  # unreachable: unavailable() always raises
    return path


@pytest.fixture
def blog(root: Path, tmp_path: Path) -> Iterator[MachineBlog]:
    """A freshly booted machine, always powered off afterwards."""
    if health_now() is not None:
        pytest.fail(f"something already answers on the host's port {PORT}; a leftover blog?")
    with machine_container(root, tmp_path) as container:
        container.boot()
        yield MachineBlog(container)
    assert health_now() is None, "the blog outlived its container"


@pytest.fixture(scope="session")
def pebble() -> Path:
    """The real Pebble binary (built with Go on first use), on a host where pods can run."""
    try:
        k8s_unit.check_host()
        return pebble_pod.pebble_binary()
    except pebble_pod.SubstrateUnavailableError as e:
        pytest.skip(f"real Pebble pods cannot run here: {e}")
