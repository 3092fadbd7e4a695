"""The machine charm against a fake systemctl: every start and stop is counted at the boundary."""

from __future__ import annotations

import pytest
import systemd_workload
from ops import testing

from example_blog import MODES
from tests.unit.conftest import MachineHarness, with_mode
from workload import CODE_FILE, MODE_FILE

INVALID_MODES = ["Test", "PRODUCTION", "", " ", " test", "production\n", "staging", "prod"]


def deploy(machine: MachineHarness, mode: str = "test") -> testing.State:
    """A fresh deploy: install, config-changed, start."""
    state = testing.State(config={"mode": mode})
    for event in (
        machine.ctx.on.install(),
        machine.ctx.on.config_changed(),
        machine.ctx.on.start(),
    ):
        state = machine.run(event, state)
    return state


def test_fresh_deploy_starts_once_and_never_restarts(machine: MachineHarness):
    state = deploy(machine)

    assert machine.systemctl.starts == 1
    assert machine.systemctl.stops == 0
    assert machine.file(MODE_FILE).read_text() == "test\n"
    assert machine.file(systemd_workload.UNIT_FILE).read_text() == systemd_workload.UNIT_TEXT
    assert "DynamicUser=yes" in systemd_workload.UNIT_TEXT
    assert machine.file(CODE_FILE).stat().st_mode & 0o777 == 0o644
    assert machine.systemctl.enabled
    assert state.unit_status == testing.ActiveStatus("serving in test mode")
    assert state.opened_ports == {testing.TCPPort(8080)}
    assert state.workload_version == "1.0.0"


def test_install_reports_maintenance_while_it_runs(machine: MachineHarness):
    machine.run(machine.ctx.on.install(), testing.State())

    assert machine.ctx.unit_status_history[-1] == testing.MaintenanceStatus(
        "installing ExampleBlog"
    )


@pytest.mark.parametrize(
    "event",
    ["config_changed", "update_status", "upgrade_charm", "start"],
)
def test_repeated_events_touch_nothing(machine: MachineHarness, event: str):
    state = deploy(machine)
    before = machine.file(MODE_FILE).stat()

    machine.run(getattr(machine.ctx.on, event)(), state)

    assert machine.systemctl.starts == 1
    assert machine.systemctl.stops == 0
    after = machine.file(MODE_FILE).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_toggle_restarts_once_each_way(machine: MachineHarness):
    state = deploy(machine)

    state = machine.run(machine.ctx.on.config_changed(), with_mode(state, "production"))
    assert (machine.systemctl.stops, machine.systemctl.starts) == (1, 2)
    assert machine.file(MODE_FILE).read_text() == "production\n"
    assert state.unit_status == testing.ActiveStatus("serving in production mode")

    state = machine.run(machine.ctx.on.config_changed(), with_mode(state, "test"))
    assert (machine.systemctl.stops, machine.systemctl.starts) == (2, 3)
    assert machine.file(MODE_FILE).read_text() == "test\n"


def test_stop_comes_before_the_write_and_start_after(machine: MachineHarness):
    state = deploy(machine)
    machine.systemctl.calls.clear()

    machine.run(machine.ctx.on.config_changed(), with_mode(state, "production"))

    verbs = [argv[0] for argv in machine.systemctl.calls if argv[0] != "--quiet"]
    assert verbs == ["stop", "enable"]


@pytest.mark.parametrize("damage", ["delete", "empty", "garble", "binary"])
def test_damaged_mode_file_is_rewritten_with_one_restart(machine: MachineHarness, damage: str):
    state = deploy(machine, "production")
    path = machine.file(MODE_FILE)
    if damage == "delete":
        path.unlink()
    elif damage == "empty":
        path.write_text("")
    elif damage == "garble":
        path.write_text("prod\x00uction??\n")
    else:
        path.write_bytes(b"\xff\xfe\x00")

    state = machine.run(machine.ctx.on.update_status(), state)

    assert path.read_text() == "production\n"
    assert (machine.systemctl.stops, machine.systemctl.starts) == (1, 2)
    assert state.unit_status == testing.ActiveStatus("serving in production mode")


@pytest.mark.parametrize(
    "content", ["production", "production\n\n", "  production \n", "\tproduction"]
)
def test_whitespace_only_differences_change_nothing(machine: MachineHarness, content: str):
    state = deploy(machine, "production")
    machine.file(MODE_FILE).write_text(content)

    machine.run(machine.ctx.on.config_changed(), state)

    assert machine.file(MODE_FILE).read_text() == content
    assert (machine.systemctl.stops, machine.systemctl.starts) == (0, 1)


@pytest.mark.parametrize("bad", INVALID_MODES)
def test_invalid_mode_on_fresh_deploy_blocks_and_writes_nothing(machine: MachineHarness, bad: str):
    state = deploy(machine, bad)

    assert state.unit_status.name == "blocked"
    assert repr(bad) in state.unit_status.message
    assert all(repr(mode) in state.unit_status.message for mode in MODES)
    assert not machine.file(MODE_FILE).exists()
    assert machine.systemctl.starts == 0


@pytest.mark.parametrize("bad", INVALID_MODES)
def test_invalid_mode_while_running_changes_nothing(machine: MachineHarness, bad: str):
    state = deploy(machine, "production")

    state = machine.run(machine.ctx.on.config_changed(), with_mode(state, bad))

    assert state.unit_status.name == "blocked"
    assert machine.file(MODE_FILE).read_text() == "production\n"
    assert (machine.systemctl.stops, machine.systemctl.starts) == (0, 1)


def test_reboot_adds_no_start(machine: MachineHarness):
    state = deploy(machine, "production")
    machine.systemctl.reboot()
    assert machine.systemctl.active

    for event in (machine.ctx.on.start(), machine.ctx.on.config_changed()):
        state = machine.run(event, state)

    assert (machine.systemctl.stops, machine.systemctl.starts) == (0, 0)
    assert state.unit_status == testing.ActiveStatus("serving in production mode")


def test_service_stopped_by_hand_is_started_not_restarted(machine: MachineHarness):
    state = deploy(machine)
    machine.systemctl.active = False

    state = machine.run(machine.ctx.on.update_status(), state)

    assert (machine.systemctl.stops, machine.systemctl.starts) == (0, 2)


def test_changed_unit_file_is_reloaded_and_restarts_once(machine: MachineHarness):
    state = deploy(machine)
    machine.file(systemd_workload.UNIT_FILE).write_text("[Service]\nExecStart=/bin/false\n")
    machine.systemctl.calls.clear()

    machine.run(machine.ctx.on.upgrade_charm(), state)

    assert machine.file(systemd_workload.UNIT_FILE).read_text() == systemd_workload.UNIT_TEXT
    assert ("daemon-reload",) in machine.systemctl.calls
    assert (machine.systemctl.stops, machine.systemctl.starts) == (1, 1)


def test_changed_code_file_restarts_once(machine: MachineHarness):
    state = deploy(machine)
    shipped = machine.file(CODE_FILE).read_text()
    machine.file(CODE_FILE).write_text("print('an older blog')\n")

    machine.run(machine.ctx.on.upgrade_charm(), state)

    assert machine.file(CODE_FILE).read_text() == shipped
    assert (machine.systemctl.stops, machine.systemctl.starts) == (1, 2)


@pytest.mark.parametrize("verb", ["stop", "enable"])
def test_failing_systemctl_fails_the_hook_and_leaves_whole_files(
    machine: MachineHarness, verb: str
):
    """A systemctl failure fails the hook (Juju shows an error and retries it).

    A failed stop leaves the old file under the old process; a failed start
    leaves the new file complete under a stopped service. Either way the retry
    finishes the job, with exactly one more start.
    """
    state = deploy(machine, "test")
    machine.systemctl.failing.add(verb)

    with pytest.raises(testing.errors.UncaughtCharmError, match=f"systemctl {verb} failed"):
        machine.run(machine.ctx.on.config_changed(), with_mode(state, "production"))
    assert machine.file(MODE_FILE).read_text() == ("test\n" if verb == "stop" else "production\n")

    machine.systemctl.failing.clear()
    state = machine.run(machine.ctx.on.config_changed(), with_mode(state, "production"))

    assert machine.file(MODE_FILE).read_text() == "production\n"
    assert machine.systemctl.active
    assert machine.systemctl.starts == 2
    assert state.unit_status == testing.ActiveStatus("serving in production mode")


def test_status_reports_a_service_that_is_not_running(machine: MachineHarness):
    state = deploy(machine)
    machine.systemctl.active = False

    state = machine.run(machine.ctx.on.leader_elected(), state)

    assert state.unit_status == testing.MaintenanceStatus("ExampleBlog is not running yet")


def test_remove_stops_disables_and_deletes_what_install_put_in_place(machine: MachineHarness):
    state = deploy(machine)

    machine.run(machine.ctx.on.remove(), state)

    assert ("disable", "--now", "example-blog") in machine.systemctl.calls
    assert not machine.systemctl.active
    assert not machine.systemctl.enabled
    for location in (systemd_workload.UNIT_FILE, CODE_FILE, MODE_FILE):
        assert not machine.file(location).exists()
    assert not machine.file(CODE_FILE).parent.exists()


def test_remove_before_install_completed_does_not_fail(machine: MachineHarness):
    machine.run(machine.ctx.on.remove(), testing.State())

    assert not any(argv[0] == "disable" for argv in machine.systemctl.calls)
