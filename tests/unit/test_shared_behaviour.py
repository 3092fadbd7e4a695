"""What both charms must do alike, run on the shared charm with the Workload fake.

The rules live in code both variants run (``blog_charm``, ``reconcile``,
``workload``), so they are tested once, on the fake. The first few runs go
through each variant's entrypoint too (``each_charm``): they show that each
hands the shared charm its own service manager, and that its events reach
the reconcile. Starts and stops are counted where the charm hands them over.
"""

from __future__ import annotations

import dataclasses

import pytest
from ops import testing

from example_blog import MODES
from tests.support.charm_run import CharmRun, with_mode
from tests.support.workload_fake import SharedCharmRun
from workload import CODE_FILE, MODE_FILE, Drift

INVALID_MODES = ["Test", "PRODUCTION", "", " ", " test", "production\n", "staging", "prod"]
DAMAGE = {
    "deleted": None,
    "emptied": b"",
    "garbled": b"prod\x00uction??\n",
    "not-text": b"\xff\xfe\x00",
}


def test_fresh_deploy_starts_once_and_never_restarts(each_charm: CharmRun):
    state = each_charm.deploy("test")

    assert (each_charm.starts, each_charm.stops) == (1, 0)
    assert each_charm.file(MODE_FILE).read_text() == "test\n"
    assert each_charm.file(MODE_FILE).stat().st_mode & 0o777 == 0o644
    assert "class Blog" in each_charm.file(CODE_FILE).read_text()
    assert state.unit_status == testing.ActiveStatus("serving in test mode")
    assert state.opened_ports == {testing.TCPPort(8080)}
    assert state.workload_version == "1.0.0"


@pytest.mark.parametrize("event", ["config_changed", "update_status", "upgrade_charm", "start"])
def test_repeated_events_touch_nothing(each_charm: CharmRun, event: str):
    state = each_charm.deploy()
    before = each_charm.file(MODE_FILE).stat()

    each_charm.run(getattr(each_charm.ctx.on, event)(), state)

    assert (each_charm.starts, each_charm.stops) == (1, 0)
    after = each_charm.file(MODE_FILE).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_toggle_restarts_once_each_way(each_charm: CharmRun):
    state = each_charm.deploy("test")

    state = each_charm.run(each_charm.ctx.on.config_changed(), with_mode(state, "production"))
    assert (each_charm.starts, each_charm.stops) == (2, 1)
    assert each_charm.file(MODE_FILE).read_text() == "production\n"
    assert state.unit_status == testing.ActiveStatus("serving in production mode")

    state = each_charm.run(each_charm.ctx.on.config_changed(), with_mode(state, "test"))
    assert (each_charm.starts, each_charm.stops) == (3, 2)
    assert each_charm.file(MODE_FILE).read_text() == "test\n"
    assert state.unit_status == testing.ActiveStatus("serving in test mode")


@pytest.mark.parametrize("damage", DAMAGE.keys())
def test_damaged_mode_file_is_rewritten_with_one_restart(charm: SharedCharmRun, damage: str):
    state = charm.deploy("production")
    path = charm.file(MODE_FILE)
    content = DAMAGE[damage]
    if content is None:
        path.unlink()
    else:
        path.write_bytes(content)

    state = charm.run(charm.ctx.on.update_status(), state)

    assert path.read_text() == "production\n"
    assert (charm.starts, charm.stops) == (2, 1)
    assert state.unit_status == testing.ActiveStatus("serving in production mode")


@pytest.mark.parametrize(
    "content", ["production", "production\n\n", "  production \n", "\tproduction"]
)
def test_whitespace_only_differences_change_nothing(charm: SharedCharmRun, content: str):
    state = charm.deploy("production")
    charm.file(MODE_FILE).write_text(content)

    charm.run(charm.ctx.on.config_changed(), state)

    assert charm.file(MODE_FILE).read_text() == content
    assert (charm.starts, charm.stops) == (1, 0)


@pytest.mark.parametrize("bad", INVALID_MODES)
def test_invalid_mode_on_a_new_unit_blocks_and_writes_nothing(charm: SharedCharmRun, bad: str):
    state = charm.deploy(bad)

    assert state.unit_status.name == "blocked"
    assert repr(bad) in state.unit_status.message
    assert all(repr(mode) in state.unit_status.message for mode in MODES)
    assert not charm.file(MODE_FILE).exists()
    assert (charm.starts, charm.stops) == (0, 0)


@pytest.mark.parametrize("bad", INVALID_MODES)
def test_invalid_mode_while_running_changes_nothing(charm: SharedCharmRun, bad: str):
    state = charm.deploy("production")

    state = charm.run(charm.ctx.on.config_changed(), with_mode(state, bad))

    assert state.unit_status.name == "blocked"
    assert charm.file(MODE_FILE).read_text() == "production\n"
    assert (charm.starts, charm.stops) == (1, 0)


def test_a_hook_that_changes_nothing_leaves_ports_and_version_to_juju(charm: SharedCharmRun):
    """Juju keeps the opened port and the version; only a start sets them (again)."""
    state = charm.deploy("test")
    forgotten = dataclasses.replace(state, opened_ports=frozenset(), workload_version="")

    state = charm.run(charm.ctx.on.update_status(), forgotten)

    assert (state.opened_ports, state.workload_version) == (frozenset(), "")
    assert (charm.starts, charm.stops) == (1, 0)
    assert state.unit_status == testing.ActiveStatus("serving in test mode")


def test_the_log_says_what_a_reconcile_did_and_nothing_when_it_did_nothing(charm: SharedCharmRun):
    def reconciled() -> list[str]:
        return [
            line.message for line in charm.ctx.juju_log if line.message.startswith("reconciled")
        ]

    state = charm.deploy("test")
    assert reconciled() == ["reconciled mode 'test': service started"]

    state = charm.run(charm.ctx.on.config_changed(), with_mode(state, "production"))
    state = charm.run(charm.ctx.on.update_status(), state)

    assert reconciled()[1:] == ["reconciled mode 'production': service restarted"]


def test_a_stale_service_definition_is_applied_with_one_restart(charm: SharedCharmRun):
    """An older charm revision's unit file or Pebble layer: replaced, and the blog restarted."""
    state = charm.deploy("test")
    charm.workload.defined = "example-blog: an older command"

    state = charm.run(charm.ctx.on.upgrade_charm(), state)

    assert charm.workload.service_definition().drift() is Drift.NONE
    assert (charm.starts, charm.stops) == (2, 1)
    assert state.unit_status == testing.ActiveStatus("serving in test mode")


def test_a_running_blog_is_stopped_before_its_files_change_and_started_after(
    charm: SharedCharmRun, monkeypatch: pytest.MonkeyPatch
):
    """The invariant of the reconcile: a running service runs with the inputs on disk."""
    state = charm.deploy("test")
    seen: list[tuple[str, str]] = []
    for call in ("stop", "start"):
        original = getattr(charm.workload, call)

        def spy(_call: str = call, _original=original) -> None:
            seen.append((_call, charm.file(MODE_FILE).read_text()))
            _original()

        monkeypatch.setattr(charm.workload, call, spy)

    charm.run(charm.ctx.on.config_changed(), with_mode(state, "production"))

    assert seen == [("stop", "test\n"), ("start", "production\n")]


def test_while_the_service_manager_is_away_the_unit_waits_and_touches_nothing(
    charm: SharedCharmRun,
):
    """Not a failed hook: the manager's return (pebble-ready) runs the same reconcile."""
    state = charm.deploy("test")
    charm.workload.reachable = False
    charm.blog.stop()  # the container restarts: nothing answers

    state = charm.run(charm.ctx.on.config_changed(), with_mode(state, "production"))

    assert state.unit_status == testing.WaitingStatus("waiting for the workload's service manager")
    assert charm.file(MODE_FILE).read_text() == "test\n"
    assert (charm.starts, charm.stops) == (1, 0)

    charm.workload.reachable = True
    state = charm.run(charm.ctx.on.update_status(), state)

    assert (charm.starts, charm.stops) == (2, 0)
    assert charm.file(MODE_FILE).read_text() == "production\n"
    assert state.unit_status == testing.ActiveStatus("serving in production mode")


def test_a_hand_edit_then_the_same_mode_configured_restarts_once_into_it(each_charm: CharmRun):
    """The file and the option agree, but the running blog read the old file: its word decides."""
    state = each_charm.deploy("test")
    each_charm.file(MODE_FILE).write_text("production\n")

    state = each_charm.run(each_charm.ctx.on.config_changed(), with_mode(state, "production"))
    each_charm.run(each_charm.ctx.on.update_status(), state)

    assert each_charm.blog.serving == "production"
    assert (each_charm.starts, each_charm.stops) == (2, 1)
