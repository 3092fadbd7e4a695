"""What only the machine charm does: systemd units, reboots, systemctl failures, removal."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import systemd_workload
from charmlibs.pathops import LocalPath
from ops import testing

from tests.support.charm_run import PORT_TAKEN, with_mode
from tests.support.service_managers import MachineCharmRun
from workload import CODE_FILE, MAX_OUTPUT_CHARS, MODE_FILE, POSTS_DIR


def test_deploy_installs_an_enabled_hardened_unit(machine: MachineCharmRun):
    machine.deploy()

    assert machine.file(systemd_workload.UNIT_FILE).read_text() == systemd_workload.UNIT_TEXT
    assert "DynamicUser=yes" in systemd_workload.UNIT_TEXT
    assert ("daemon-reload",) in machine.systemctl.calls
    assert machine.systemctl.enabled


def test_install_reports_maintenance_while_it_runs(machine: MachineCharmRun):
    machine.run(machine.ctx.on.install(), testing.State())

    assert machine.ctx.unit_status_history[-1] == testing.MaintenanceStatus(
        "installing ExampleBlog"
    )


def test_stop_comes_before_the_write_and_start_after(machine: MachineCharmRun):
    state = machine.deploy()
    machine.systemctl.calls.clear()

    machine.run(machine.ctx.on.config_changed(), with_mode(state, "production"))

    verbs = [argv[0] for argv in machine.systemctl.calls if argv[0] != "--quiet"]
    assert verbs == ["stop", "enable"]


def test_reboot_adds_no_start(machine: MachineCharmRun):
    state = machine.deploy("production")
    machine.systemctl.reboot()
    assert machine.systemctl.active

    for event in (machine.ctx.on.start(), machine.ctx.on.config_changed()):
        state = machine.run(event, state)

    assert (machine.starts, machine.stops) == (0, 0)
    assert state.unit_status == testing.ActiveStatus("serving in production mode")


def test_service_stopped_by_hand_is_started_not_restarted(machine: MachineCharmRun):
    state = machine.deploy()
    machine.systemctl.active = False

    machine.run(machine.ctx.on.update_status(), state)

    assert (machine.starts, machine.stops) == (2, 0)


def test_changed_unit_file_is_reloaded_and_restarts_once(machine: MachineCharmRun):
    state = machine.deploy()
    machine.file(systemd_workload.UNIT_FILE).write_text("[Service]\nExecStart=/bin/false\n")
    machine.systemctl.calls.clear()

    machine.run(machine.ctx.on.upgrade_charm(), state)

    assert machine.file(systemd_workload.UNIT_FILE).read_text() == systemd_workload.UNIT_TEXT
    assert ("daemon-reload",) in machine.systemctl.calls
    assert (machine.starts, machine.stops) == (1, 1)


def test_changed_code_file_restarts_once(machine: MachineCharmRun):
    state = machine.deploy()
    shipped = machine.file(CODE_FILE).read_text()
    machine.file(CODE_FILE).write_text("print('an older blog')\n")

    machine.run(machine.ctx.on.upgrade_charm(), state)

    assert machine.file(CODE_FILE).read_text() == shipped
    assert (machine.starts, machine.stops) == (2, 1)


@pytest.mark.parametrize("verb", ["stop", "enable"])
def test_failing_systemctl_fails_the_hook_and_leaves_whole_files(
    machine: MachineCharmRun, verb: str
):
    """A systemctl failure fails the hook (Juju shows an error and retries it).

    A failed stop leaves the old file under the old process; a failed start
    leaves the new file complete under a stopped service. Either way the retry
    finishes the job, with exactly one more start.
    """
    state = machine.deploy("test")
    machine.systemctl.failing.add(verb)

    with pytest.raises(testing.errors.UncaughtCharmError, match=f"systemctl {verb} failed"):
        machine.run(machine.ctx.on.config_changed(), with_mode(state, "production"))
    assert machine.file(MODE_FILE).read_text() == ("test\n" if verb == "stop" else "production\n")

    machine.systemctl.failing.clear()
    state = machine.run(machine.ctx.on.config_changed(), with_mode(state, "production"))

    assert machine.file(MODE_FILE).read_text() == "production\n"
    assert machine.systemctl.active
    assert machine.starts == 2
    assert state.unit_status == testing.ActiveStatus("serving in production mode")


def test_status_reports_a_service_that_is_not_running(machine: MachineCharmRun):
    state = machine.deploy()
    machine.systemctl.active = False

    state = machine.run(machine.ctx.on.leader_elected(), state)

    assert state.unit_status == testing.MaintenanceStatus("ExampleBlog is not running")


def test_remove_stops_disables_and_deletes_what_install_put_in_place(machine: MachineCharmRun):
    state = machine.deploy()

    machine.run(machine.ctx.on.remove(), state)

    assert ("disable", "--now", "example-blog") in machine.systemctl.calls
    assert not machine.systemctl.active
    assert not machine.systemctl.enabled
    for location in (systemd_workload.UNIT_FILE, CODE_FILE, MODE_FILE):
        assert not machine.file(location).exists()
    assert not machine.file(CODE_FILE).parent.exists()


def test_remove_before_install_completed_does_not_fail(machine: MachineCharmRun):
    machine.run(machine.ctx.on.remove(), testing.State())

    assert not any(argv[0] == "disable" for argv in machine.systemctl.calls)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can hand the mode file to another user")
@pytest.mark.parametrize(
    ("uid", "gid"), [(65534, 65534), (0, 65534), (65534, 0)], ids=["both", "group", "owner"]
)
def test_mode_file_taken_over_by_another_user_is_given_back_without_a_restart(
    machine: MachineCharmRun, uid: int, gid: int
):
    """The blog trusts the file because only root can change it: the owner is put back.

    Its content is still the one the running blog read, so nothing restarts.
    (ops.testing's Pebble does not emulate ownership; the real-Pebble tier checks it there.)
    """
    state = machine.deploy("production")
    path = machine.file(MODE_FILE)
    os.chown(path, uid, gid)

    machine.run(machine.ctx.on.update_status(), state)

    assert (path.stat().st_uid, path.stat().st_gid) == (0, 0)
    assert path.read_text() == "production\n"
    assert (machine.starts, machine.stops) == (1, 0)


@pytest.mark.parametrize(
    ("result", "status", "text", "reason"),
    [
        (
            "exit-code",
            "3",
            "cannot listen on port 8080: Address already in use",
            "cannot listen on port 8080: Address already in use",
        ),
        (
            "exit-code",
            "2",
            "mode file /etc/example_blog/mode holds 'x'",
            "mode file /etc/example_blog/mode holds 'x'",
        ),
        ("exit-code", "1", "serving test mode", "it exited with status 1"),
        ("signal", "9", "serving test mode", "it was killed by SIGKILL"),
        ("core-dump", "11", "", "it was killed by SIGSEGV"),
        ("start-limit-hit", "0", "", "systemd stopped restarting it: too many restarts"),
        ("timeout", "0", "", "systemd reports 'timeout'"),
    ],
    ids=["port", "mode-file", "crash", "killed", "core", "start-limit", "other"],
)
def test_failure_reason_comes_from_systemds_record(
    result: str, status: str, text: str, reason: str
):
    """The blog's own status line only where its exit status says it wrote it for this exit."""
    assert systemd_workload.describe_failure(result, status, text, None) == reason


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        (
            ["Traceback (most recent call last):", "  File ...", "MemoryError", ""],
            "it exited with status 1: MemoryError",
        ),
        (
            ["Failed at step EXEC spawning /usr/bin/python3: No such file or directory"],
            "it exited with status 1: Failed at step EXEC spawning /usr/bin/python3: "
            "No such file or directory",
        ),
        ([], "it exited with status 1"),
        (["x" * 500], f"it exited with status 1: {'x' * (MAX_OUTPUT_CHARS - 1)}\u2026"),
    ],
    ids=["exception", "exec", "silent", "long"],
)
def test_an_unexplained_failed_start_shows_the_runs_last_words(
    machine: MachineCharmRun, words: list[str], reason: str
):
    """The blog said nothing of its own: the journal of that run says why, bounded."""
    # systemd's own lines for the run carry the unit's name, the blog's do not.
    machine.systemctl.last_words = [
        f"example-blog.service: {line}" if "EXEC" in line else line for line in words
    ]
    machine.blog.crash_status = 1

    state = machine.deploy("test")

    assert state.unit_status == testing.BlockedStatus(
        f"ExampleBlog cannot serve: {reason} (see `journalctl -u example-blog`)"
    )


def test_a_failed_start_that_systemd_would_retry_is_called_off_and_blocked(
    machine: MachineCharmRun,
):
    """A restart systemd scheduled would only fail again, in a loop the charm cannot see."""
    machine.blog.port_taken = True
    machine.systemctl.restarts_failures = True

    state = machine.deploy("test")

    assert machine.systemctl.calls[-1] == ("stop", "example-blog")
    assert not machine.systemctl.restart_pending
    assert state.unit_status == testing.BlockedStatus(
        f"ExampleBlog cannot serve: {PORT_TAKEN} (see `journalctl -u example-blog`)"
    )


def test_unit_properties_are_those_asked_for_with_their_values_whole(machine: MachineCharmRun):
    machine.systemctl.failed = (2, "mode file holds 'a=b'")

    assert systemd_workload.unit_properties("StatusText", "ExecMainStatus") == {
        "StatusText": "mode file holds 'a=b'",
        "ExecMainStatus": "2",
    }


def test_a_failed_show_after_a_failed_start_raises_its_own_error(machine: MachineCharmRun):
    machine.systemctl.failing = {"enable", "show"}

    with pytest.raises(subprocess.CalledProcessError) as raised:
        systemd_workload.SystemdWorkload().start()

    assert raised.value.cmd[:2] == ["systemctl", "show"]


def test_workload_paths_are_the_machines_own():
    assert systemd_workload.SystemdWorkload().path(MODE_FILE) == LocalPath(MODE_FILE)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can hand the mode file to another user")
def test_a_rewritten_file_is_roots_and_world_readable_whatever_it_was(machine: MachineCharmRun):
    """The blog runs as an unprivileged user: it must be able to read what it is given."""
    state = machine.deploy("production")
    path = machine.file(MODE_FILE)
    path.write_text("garbled")
    os.chown(path, 65534, 65534)
    path.chmod(0o600)

    machine.run(machine.ctx.on.update_status(), state)

    info = path.stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (0, 0, 0o644)
    assert path.read_text() == "production\n"


def test_the_previous_revisions_state_link_is_replaced_and_its_posts_kept(
    machine: MachineCharmRun,
):
    """Refreshed from a revision with StateDirectory=: one restart, the link gone, nothing lost.

    (Moving a storage mounted through the link is shown on real systemd.)
    """
    state = machine.deploy("production")
    private = machine.file("/var/lib/private/example_blog/posts")
    private.mkdir(parents=True)
    (private / "old.txt").write_text("Old\nkept\n")
    machine.file(POSTS_DIR).parent.parent.mkdir(parents=True, exist_ok=True)
    machine.file(POSTS_DIR).parent.symlink_to("private/example_blog")

    state = machine.run(machine.ctx.on.upgrade_charm(), state)
    machine.run(machine.ctx.on.update_status(), state)

    link = machine.file(POSTS_DIR).parent
    assert link.is_dir()
    assert not link.is_symlink()
    assert machine.file(POSTS_DIR).is_dir()
    assert (private / "old.txt").read_text() == "Old\nkept\n"
    assert (machine.starts, machine.stops) == (2, 1)


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("/var/lib/example_blog/posts", "/var/lib/example_blog/posts"),
        ("/srv/a b\\c", "/srv/a\\040b\\134c"),
    ],
    ids=["plain", "escaped"],
)
def test_a_mount_point_is_found_in_the_kernels_table_as_the_kernel_escapes_it(
    tmp_path: Path, path: str, line: str
):
    table = tmp_path / "mountinfo"
    table.write_text(f"36 35 98:0 /juju/storage {line} rw,noatime master:1 - ext4 /dev/sda1 rw\n")

    assert systemd_workload.is_mount_point(path, str(table))
    assert not systemd_workload.is_mount_point("/srv", str(table))


def test_an_upgrade_that_fails_half_way_is_finished_by_the_next_hook(
    machine: MachineCharmRun, monkeypatch: pytest.MonkeyPatch
):
    """The link is gone but the storage is still mounted through it: the next hook moves it."""
    state = machine.deploy("production")
    old_posts = machine.file(systemd_workload.OLD_POSTS)
    old_posts.mkdir(parents=True)
    machine.file(POSTS_DIR).parent.parent.mkdir(parents=True, exist_ok=True)
    machine.file(POSTS_DIR).parent.symlink_to("private/example_blog")
    mounted = {str(old_posts)}
    calls: list[tuple[str, ...]] = []

    def mount_table(path: str, table: str = "") -> bool:
        return path in mounted

    def run(*command: str) -> None:
        calls.append(command)
        if len(calls) == 1:
            raise subprocess.CalledProcessError(32, command, "", "mount: interrupted")
        if command[:2] == ("mount", "--bind"):
            mounted.add(command[3])
        elif command[0] == "umount":
            mounted.discard(command[1])

    monkeypatch.setattr(systemd_workload, "is_mount_point", mount_table)
    monkeypatch.setattr(systemd_workload, "_run", run)

    with pytest.raises(testing.errors.UncaughtCharmError):
        machine.run(machine.ctx.on.upgrade_charm(), state)
    machine.run(machine.ctx.on.update_status(), state)

    assert mounted == {str(machine.file(POSTS_DIR))}
    assert [command[0] for command in calls] == ["mount", "mount", "umount"]
    assert not machine.file(POSTS_DIR).parent.is_symlink()
    assert machine.blog.serving == "production"
