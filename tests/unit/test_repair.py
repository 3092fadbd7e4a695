"""Owner and permission drift: repaired in place, with no restart, on every charm.

The running blog read its files when it started, so a file whose content is
still right needs no restart however its owner or permissions drifted: the
charm only puts them back. Content drift keeps stop, write, start.
"""

from __future__ import annotations

import os
import stat

import pytest

from tests.support.charm_run import CharmRun
from workload import CODE_FILE, FILE_MODE, MODE_FILE


def permissions(run: CharmRun, location: str) -> int:
    """The permission bits of a workload file."""
    return stat.S_IMODE(run.file(location).stat().st_mode)


@pytest.mark.parametrize("location", [MODE_FILE, CODE_FILE], ids=["mode-file", "code-file"])
@pytest.mark.parametrize("drifted", [0o600, 0o666, 0o755], ids=oct)
def test_permission_drift_is_repaired_without_a_restart(
    each_charm: CharmRun, location: str, drifted: int
):
    state = each_charm.deploy("production")
    content = each_charm.file(location).read_text()
    each_charm.file(location).chmod(drifted)

    each_charm.run(each_charm.ctx.on.update_status(), state)

    assert permissions(each_charm, location) == FILE_MODE
    assert each_charm.file(location).read_text() == content
    assert (each_charm.starts, each_charm.stops) == (1, 0)


def test_content_and_permission_drift_together_restart_once(each_charm: CharmRun):
    state = each_charm.deploy("production")
    each_charm.file(MODE_FILE).write_text("test\n")
    each_charm.file(MODE_FILE).chmod(0o600)

    state = each_charm.run(each_charm.ctx.on.update_status(), state)
    each_charm.run(each_charm.ctx.on.update_status(), state)

    assert each_charm.file(MODE_FILE).read_text() == "production\n"
    assert permissions(each_charm, MODE_FILE) == FILE_MODE
    assert (each_charm.starts, each_charm.stops) == (2, 1)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can hand a file to another user")
@pytest.mark.parametrize("variant", ["charm", "machine"], ids=["fake", "machine"])
def test_owner_drift_is_repaired_without_a_restart(request: pytest.FixtureRequest, variant: str):
    """Not on ops.testing's Pebble, which pushes without owners; the real-Pebble tier does it."""
    each_charm: CharmRun = request.getfixturevalue(variant)
    state = each_charm.deploy("production")
    os.chown(each_charm.file(CODE_FILE), 65534, 65534)

    each_charm.run(each_charm.ctx.on.update_status(), state)

    info = each_charm.file(CODE_FILE).stat()
    assert (info.st_uid, info.st_gid) == (0, 0)
    assert (each_charm.starts, each_charm.stops) == (1, 0)
