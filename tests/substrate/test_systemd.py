"""The machine charm against a real systemd, booted in a container.

Every test gets a freshly booted machine (an overlay on the cached root) with
the project mounted read-only, and runs the charm's hooks inside it with Juju
emulated by ``ops.testing``. Starts are counted by systemd itself: the unit's
InvocationID (new for every start), its "started" and "stopped" journal
messages in the current boot, and the blog's health endpoint, whose pid must
be systemd's MainPID and whose start_id is new for every process start.

Skips (with the reason in the ``-ra`` summary) when containers cannot run
here; tests/conftest.py turns that into a failure where the tier is required.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import systemd_workload

from tests.substrate.machine_unit import (
    PORT,
    MachineBlog,
    fetch,
    health_now,
)
from workload import CODE_FILE, MODE_FILE

# ``systemd-analyze security`` (systemd 252, in the container) scores the unit
# the charm installs at 1.1. What is left is what a web server needs: Internet
# sockets (0.3), the host's network (0.5), no IP allow list (0.2: a public
# blog answers anyone), the host's root directory (0.1) and the read-only RTC
# access that ProtectClock= itself grants (0.1).
EXPOSURE_LIMIT = 1.1
POSTS_DIR = "/var/lib/example_blog/posts"


def deploy(blog: MachineBlog, mode: str = "test") -> None:
    """A fresh deploy: install, config-changed, start; active in ``mode`` afterwards."""
    reports = blog.hooks(mode, "install", "config_changed", "start")
    assert [r["event"] for r in reports] == ["install", "config_changed", "start"]
    assert (reports[-1]["status"], reports[-1]["message"]) == ("active", f"serving in {mode} mode")


def test_deploy_starts_the_service_once_in_the_configured_mode(blog: MachineBlog):
    deploy(blog, "production")

    service = blog.service()
    assert service.active
    assert service.unit_file_state == "enabled"
    assert blog.starts() == [service.invocation_id]
    assert blog.stops() == 0
    health = blog.health()
    assert health.mode == "production"
    assert health.pid == service.main_pid
    assert blog.read(MODE_FILE) == "production\n"


def test_same_config_upgrade_and_update_status_add_no_start(blog: MachineBlog):
    deploy(blog)
    before = blog.service()
    health = blog.health()

    for event in ("config_changed", "upgrade_charm", "update_status"):
        [report] = blog.hooks("test", event)

        assert report["status"] == "active", event
        assert blog.service().start == before.start, f"{event} restarted the service"
        assert blog.health().start_id == health.start_id, event
    assert blog.starts() == [before.invocation_id]
    assert blog.stops() == 0


def test_toggling_the_mode_restarts_exactly_once_each_way(blog: MachineBlog):
    deploy(blog, "test")
    previous = blog.health()

    for count, mode in enumerate(("production", "test"), start=2):
        [report] = blog.hooks(mode, "config_changed")

        assert report["message"] == f"serving in {mode} mode"
        service = blog.service()
        starts = blog.starts()
        assert len(starts) == count, f"to {mode}: {len(starts) - count + 1} starts, not one"
        assert starts[-1] == service.invocation_id
        assert blog.stops() == count - 1
        health = blog.health()
        assert health.mode == mode
        assert health.start_id != previous.start_id
        assert blog.read(MODE_FILE) == f"{mode}\n"
        previous = health


@pytest.mark.parametrize("damage", ["deleted", "garbled"])
def test_hand_damaged_mode_file_is_rewritten_with_one_restart(blog: MachineBlog, damage: str):
    deploy(blog, "production")
    before = blog.service()
    health = blog.health()
    if damage == "deleted":
        blog.delete(MODE_FILE)
    else:
        blog.write(MODE_FILE, "prod\x00uction??\n")
    assert blog.service().invocation_id == before.invocation_id

    [report] = blog.hooks("production", "update_status")

    assert report["message"] == "serving in production mode"
    assert blog.read(MODE_FILE) == "production\n"
    service = blog.service()
    assert blog.starts() == [before.invocation_id, service.invocation_id]
    assert blog.stops() == 1
    after = blog.health()
    assert after.mode == "production"
    assert after.start_id != health.start_id


def test_after_a_reboot_the_service_is_back_and_the_charm_adds_no_start(blog: MachineBlog):
    deploy(blog, "production")
    before_reboot = blog.service()

    blog.container.reboot()

    booted = blog.service()
    assert booted.active, "the enabled service did not come back by itself"
    assert booted.invocation_id != before_reboot.invocation_id
    assert blog.starts() == [booted.invocation_id]
    health = blog.health()
    assert health.mode == "production"

    reports = blog.hooks("production", "start", "config_changed")

    assert all(r["message"] == "serving in production mode" for r in reports)
    assert blog.service().start == booted.start
    assert blog.starts() == [booted.invocation_id]
    assert blog.stops() == 0
    assert blog.health().start_id == health.start_id


def test_remove_stops_disables_and_deletes_everything(blog: MachineBlog):
    deploy(blog)
    assert blog.exists("/etc/systemd/system/multi-user.target.wants/example-blog.service")
    stops = blog.stops()

    blog.hooks("test", "remove")

    service = blog.service()
    assert not service.active
    assert service.main_pid == 0
    assert service.load_state == "not-found"
    assert blog.stops() == stops + 1
    assert health_now() is None
    for path in (
        systemd_workload.UNIT_FILE,
        "/etc/systemd/system/multi-user.target.wants/example-blog.service",
        CODE_FILE,
        MODE_FILE,
        str(Path(CODE_FILE).parent),
        str(Path(MODE_FILE).parent),
    ):
        assert not blog.exists(path), path


def test_hardened_unit_stays_at_its_exposure_score_and_still_serves_posts(blog: MachineBlog):
    deploy(blog, "production")
    blog.container.run(["mkdir", "-p", POSTS_DIR])
    blog.write(f"{POSTS_DIR}/first.txt", "A real post\nWritten on the machine.\n")

    score = blog.exposure()

    assert score <= EXPOSURE_LIMIT, f"exposure {score} > {EXPOSURE_LIMIT}"
    blog.health()
    page = fetch("/")
    assert page is not None
    assert "A real post" in page


PORT_TAKEN = f"cannot listen on port {PORT}: Address already in use"
CANNOT_SERVE = f"ExampleBlog cannot serve: {PORT_TAKEN} (see `journalctl -u example-blog`)"


def assert_given_up(blog: MachineBlog) -> None:
    """The unit failed, as systemd records it, and no restart of its own is pending."""
    shown = blog.properties("ActiveState", "SubState", "Result", "ExecMainStatus", "StatusText")
    assert (shown["ActiveState"], shown["SubState"]) == ("failed", "failed"), shown
    assert (shown["Result"], shown["ExecMainStatus"]) == ("exit-code", "3"), shown
    assert shown["StatusText"] == PORT_TAKEN


def test_port_taken_blocks_with_the_reason_until_freed_then_one_start(blog: MachineBlog):
    blog.squat()
    blog.wait_squatted()

    reports = blog.hooks("production", "install", "config_changed", "start")

    assert [(r["status"], r["message"]) for r in reports] == [("blocked", CANNOT_SERVE)] * 3
    assert len(blog.attempts()) == 3, "one start per hook"
    assert blog.starts() == [], "systemd never saw the blog ready"
    assert_given_up(blog)

    [report] = blog.hooks("production", "update_status")

    assert (report["status"], report["message"]) == ("blocked", CANNOT_SERVE)
    assert len(blog.attempts()) == 4
    assert_given_up(blog)

    blog.free_port()
    [report] = blog.hooks("production", "update_status")

    assert report["message"] == "serving in production mode"
    service = blog.service()
    assert blog.starts() == [service.invocation_id]
    assert len(blog.attempts()) == 5
    assert blog.health().mode == "production"


def test_blog_killed_from_outside_is_restarted_by_systemd_and_not_by_the_charm(
    blog: MachineBlog,
):
    deploy(blog, "test")
    first = blog.health()

    killed = blog.kill_blog()

    # systemd's own restart (Restart=on-failure), after RestartSec.
    restarted = blog.health(timeout=15)
    assert restarted.pid != killed
    assert restarted.start_id != first.start_id
    assert blog.properties("NRestarts")["NRestarts"] == "1"
    service = blog.service()

    [report] = blog.hooks("test", "update_status")

    assert report["message"] == "serving in test mode"
    assert blog.service().start == service.start
    assert len(blog.starts()) == 2
    assert blog.health().start_id == restarted.start_id


def test_blog_dying_later_with_its_port_taken_ends_its_crash_loop(blog: MachineBlog):
    """Killed while another process waits for its port: systemd's restart cannot serve."""
    deploy(blog, "test")
    blog.squat()

    blog.kill_blog()
    blog.wait_squatted()

    deadline = time.monotonic() + 15
    while blog.properties("ActiveState")["ActiveState"] != "failed":
        assert time.monotonic() < deadline, "systemd did not give up on the blog"
        time.sleep(0.05)
    assert_given_up(blog)
    assert blog.properties("NRestarts")["NRestarts"] == "1", "one restart by systemd, no loop"
    attempts = len(blog.attempts())

    [report] = blog.hooks("test", "update_status")

    assert (report["status"], report["message"]) == ("blocked", CANNOT_SERVE)
    assert len(blog.attempts()) == attempts + 1
    assert_given_up(blog)

    blog.free_port()
    [report] = blog.hooks("test", "update_status")

    assert report["message"] == "serving in test mode"
    assert len(blog.attempts()) == attempts + 2


RAPID_MODES = ("production", "test") * 3
RAPID_WINDOW = 10.0


def test_six_mode_changes_within_ten_seconds_restart_once_each_and_end_active(
    blog: MachineBlog,
):
    deploy(blog, "test")

    began = time.monotonic()
    reports = blog.hooks("test", *(f"config_changed:{mode}" for mode in RAPID_MODES))
    took = time.monotonic() - began

    assert took < RAPID_WINDOW, f"six changes took {took:.1f}s"
    assert [r["message"] for r in reports] == [f"serving in {m} mode" for m in RAPID_MODES]
    assert len(blog.starts()) == 1 + len(RAPID_MODES)
    assert blog.stops() == len(RAPID_MODES)
    assert len(blog.attempts()) == 1 + len(RAPID_MODES)
    assert blog.health().mode == RAPID_MODES[-1]


def test_crash_loop_hits_the_start_limit_and_the_next_hook_starts_once(blog: MachineBlog):
    """Killed again and again: systemd gives up at its start limit, the charm's hook retries."""
    deploy(blog, "test")
    limit = systemd_workload.START_LIMIT_BURST

    for _ in range(limit - 1):
        killed = blog.kill_blog()
        assert blog.health(timeout=15).pid != killed
    blog.kill_blog()
    deadline = time.monotonic() + 15
    while (shown := blog.properties("ActiveState"))["ActiveState"] != "failed":
        assert time.monotonic() < deadline, f"systemd did not give up: {shown}"
        time.sleep(0.05)
    assert blog.properties("SubState")["SubState"] == "failed", "no restart pending"
    assert len(blog.starts()) == limit

    [report] = blog.hooks("test", "update_status")

    assert report["message"] == "serving in test mode"
    assert len(blog.starts()) == limit + 1
    assert blog.health().mode == "test"


DROP_IN = "/etc/systemd/system/example-blog.service.d/broken.conf"


@pytest.mark.parametrize(
    ("exec_start", "reason"),
    [
        (
            '/usr/bin/python3 -c \'print("loading"); raise RuntimeError("the image is broken")\'',
            "it exited with status 1: RuntimeError: the image is broken",
        ),
        (
            "/usr/bin/python3-missing /opt/example-blog/example_blog.py",
            "it exited with status 203: Failed at step EXEC spawning /usr/bin/python3-missing: "
            "No such file or directory",
        ),
    ],
    ids=["exception", "missing-interpreter"],
)
def test_a_start_that_fails_unexplained_shows_the_runs_last_line(
    blog: MachineBlog, exec_start: str, reason: str
):
    """A broken image, as a drop-in the charm does not manage: the journal of that run says why."""
    blog.container.run(["mkdir", "-p", DROP_IN.rsplit("/", 1)[0]])
    blog.write(DROP_IN, f"[Service]\nExecStart=\nExecStart={exec_start}\n")
    blog.container.run(["systemctl", "daemon-reload"])

    reports = blog.hooks("test", "install", "config_changed")

    assert (reports[-1]["status"], reports[-1]["message"]) == (
        "blocked",
        f"ExampleBlog cannot serve: {reason} (see `journalctl -u example-blog`)",
    )
    assert len(blog.attempts()) == 2
