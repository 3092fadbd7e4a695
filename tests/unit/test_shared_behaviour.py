"""Behaviour both charms must share, run once per variant against its own service manager.

Each test counts starts and stops where the charm hands them over: systemctl
on the machine, Pebble's start/stop/restart/replan calls on Kubernetes.
"""

from __future__ import annotations

import dataclasses

import pytest
from ops import testing

from example_blog import MODES
from tests.unit.conftest import Harness, with_mode
from workload import CODE_FILE, MODE_FILE

INVALID_MODES = ["Test", "PRODUCTION", "", " ", " test", "production\n", "staging", "prod"]
DAMAGE = {
    "deleted": None,
    "emptied": b"",
    "garbled": b"prod\x00uction??\n",
    "not-text": b"\xff\xfe\x00",
}


def test_fresh_deploy_starts_once_and_never_restarts(harness: Harness):
    state = harness.deploy("test")

    assert (harness.starts, harness.stops) == (1, 0)
    assert harness.file(MODE_FILE).read_text() == "test\n"
    assert harness.file(MODE_FILE).stat().st_mode & 0o777 == 0o644
    assert "class Blog" in harness.file(CODE_FILE).read_text()
    assert state.unit_status == testing.ActiveStatus("serving in test mode")
    assert state.opened_ports == {testing.TCPPort(8080)}
    assert state.workload_version == "1.0.0"


@pytest.mark.parametrize("event", ["config_changed", "update_status", "upgrade_charm", "start"])
def test_repeated_events_touch_nothing(harness: Harness, event: str):
    state = harness.deploy()
    before = harness.file(MODE_FILE).stat()

    harness.run(getattr(harness.ctx.on, event)(), state)

    assert (harness.starts, harness.stops) == (1, 0)
    after = harness.file(MODE_FILE).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_toggle_restarts_once_each_way(harness: Harness):
    state = harness.deploy("test")

    state = harness.run(harness.ctx.on.config_changed(), with_mode(state, "production"))
    assert (harness.starts, harness.stops) == (2, 1)
    assert harness.file(MODE_FILE).read_text() == "production\n"
    assert state.unit_status == testing.ActiveStatus("serving in production mode")

    state = harness.run(harness.ctx.on.config_changed(), with_mode(state, "test"))
    assert (harness.starts, harness.stops) == (3, 2)
    assert harness.file(MODE_FILE).read_text() == "test\n"
    assert state.unit_status == testing.ActiveStatus("serving in test mode")


@pytest.mark.parametrize("damage", DAMAGE.keys())
def test_damaged_mode_file_is_rewritten_with_one_restart(harness: Harness, damage: str):
    state = harness.deploy("production")
    path = harness.file(MODE_FILE)
    content = DAMAGE[damage]
    if content is None:
        path.unlink()
    else:
        path.write_bytes(content)

    state = harness.run(harness.ctx.on.update_status(), state)

    assert path.read_text() == "production\n"
    assert (harness.starts, harness.stops) == (2, 1)
    assert state.unit_status == testing.ActiveStatus("serving in production mode")


@pytest.mark.parametrize(
    "content", ["production", "production\n\n", "  production \n", "\tproduction"]
)
def test_whitespace_only_differences_change_nothing(harness: Harness, content: str):
    state = harness.deploy("production")
    harness.file(MODE_FILE).write_text(content)

    harness.run(harness.ctx.on.config_changed(), state)

    assert harness.file(MODE_FILE).read_text() == content
    assert (harness.starts, harness.stops) == (1, 0)


@pytest.mark.parametrize("bad", INVALID_MODES)
def test_invalid_mode_on_a_new_unit_blocks_and_writes_nothing(harness: Harness, bad: str):
    state = harness.deploy(bad)

    assert state.unit_status.name == "blocked"
    assert repr(bad) in state.unit_status.message
    assert all(repr(mode) in state.unit_status.message for mode in MODES)
    assert not harness.file(MODE_FILE).exists()
    assert (harness.starts, harness.stops) == (0, 0)


@pytest.mark.parametrize("bad", INVALID_MODES)
def test_invalid_mode_while_running_changes_nothing(harness: Harness, bad: str):
    state = harness.deploy("production")

    state = harness.run(harness.ctx.on.config_changed(), with_mode(state, bad))

    assert state.unit_status.name == "blocked"
    assert harness.file(MODE_FILE).read_text() == "production\n"
    assert (harness.starts, harness.stops) == (1, 0)


def test_a_hook_that_changes_nothing_leaves_ports_and_version_to_juju(harness: Harness):
    """Juju keeps the opened port and the version; only a start sets them (again)."""
    state = harness.deploy("test")
    forgotten = dataclasses.replace(state, opened_ports=frozenset(), workload_version="")

    state = harness.run(harness.ctx.on.update_status(), forgotten)

    assert (state.opened_ports, state.workload_version) == (frozenset(), "")
    assert (harness.starts, harness.stops) == (1, 0)
    assert state.unit_status == testing.ActiveStatus("serving in test mode")


def test_the_log_says_what_a_reconcile_did_and_nothing_when_it_did_nothing(harness: Harness):
    def reconciled() -> list[str]:
        return [
            line.message for line in harness.ctx.juju_log if line.message.startswith("reconciled")
        ]

    state = harness.deploy("test")
    assert reconciled() == ["reconciled mode 'test': service started"]

    state = harness.run(harness.ctx.on.config_changed(), with_mode(state, "production"))
    state = harness.run(harness.ctx.on.update_status(), state)

    assert reconciled()[1:] == ["reconciled mode 'production': service restarted"]
