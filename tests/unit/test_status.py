"""The status tells what the blog itself answers, also when it cannot serve.

The status is derived by the shared charm, so it is tested on the Workload
fake; a blog that cannot start is also run through each variant's entrypoint,
whose service manager reports the failure its own way. Behind every service
manager stands the fake blog of ``tests/support/charm_run.py``: it reads its
mode file when it starts and cannot start while its port is taken. The charm
sees it only through its ``/health`` answer and what the service manager says.
"""

from __future__ import annotations

import time

import pytest
from ops import testing

import blog_charm
from health import Health
from tests.support.charm_run import PORT_TAKEN, CharmRun, with_mode
from tests.support.workload_fake import SharedCharmRun


def cannot_serve(run: CharmRun) -> testing.BlockedStatus:
    return testing.BlockedStatus(
        f"ExampleBlog cannot serve: {PORT_TAKEN} (see `{run.log_command}`)"
    )


def test_port_taken_blocks_with_the_reason_and_retries_once_per_hook(each_charm: CharmRun):
    each_charm.blog.port_taken = True

    state = each_charm.deploy("production")

    assert state.unit_status == cannot_serve(each_charm)
    for event in (each_charm.ctx.on.update_status(), each_charm.ctx.on.config_changed()):
        starts = each_charm.starts
        state = each_charm.run(event, state)
        assert each_charm.starts == starts + 1, "one start per hook, no more"
        assert state.unit_status == cannot_serve(each_charm)
    assert each_charm.blog.serving is None
    assert each_charm.file("/etc/example_blog/mode").read_text() == "production\n"

    each_charm.blog.port_taken = False
    starts = each_charm.starts
    state = each_charm.run(each_charm.ctx.on.update_status(), state)

    assert each_charm.starts == starts + 1
    assert state.unit_status == testing.ActiveStatus("serving in production mode")


def test_a_running_blog_that_does_not_answer_is_not_active(
    charm: SharedCharmRun, monkeypatch: pytest.MonkeyPatch
):
    """Its manager says it runs (it is starting, or it hangs): the hook waits, then not Active."""
    state = charm.deploy("test")
    starts = charm.starts
    monkeypatch.setattr("health.read", lambda *_args, **_kwargs: None)
    monkeypatch.setattr(blog_charm, "SETTLE_SECONDS", 0.3)

    began = time.monotonic()
    state = charm.run(charm.ctx.on.update_status(), state)

    assert time.monotonic() - began >= 0.3
    assert charm.starts == starts
    assert state.unit_status == testing.MaintenanceStatus(
        "ExampleBlog is running but not answering yet"
    )


class ManagersOwnRestart:
    """``health.read`` during a restart the service manager makes itself, in the middle of a hook.

    The manager reports the blog running while it starts it, and the blog
    answers nothing; after ``silent`` reads the restart is over: the blog
    serves (``survives``) or its manager gave up on it with its port taken.
    """

    def __init__(self, charm: SharedCharmRun, silent: int, *, survives: bool):
        self.charm, self.silent, self.survives = charm, silent, survives
        self.reads = 0

    def __call__(self, port: int, timeout: float = 1.0) -> Health | None:
        self.reads += 1
        if self.reads < self.silent:
            return None
        if self.reads == self.silent:
            if self.survives:
                return self.charm.blog.health(port, timeout)
            self.charm.blog.stop()
            self.charm.blog.port_taken = True
            return None
        return self.charm.blog.health(port, timeout)


@pytest.mark.parametrize("survives", [True, False], ids=["comes-up", "gives-up"])
def test_a_hook_during_the_managers_own_restart_settles_with_at_most_one_start(
    charm: SharedCharmRun, monkeypatch: pytest.MonkeyPatch, survives: bool
):
    """It ends Active, or Blocked with the blog's reason, never on "not running"."""
    state = charm.deploy("test")
    starts = charm.starts
    charm.blog.stop()
    charm.blog.start()  # the manager's own restart: running, silent for a moment
    restart = ManagersOwnRestart(charm, silent=3, survives=survives)
    monkeypatch.setattr("health.read", restart)
    monkeypatch.setattr(blog_charm, "SETTLE_POLL_SECONDS", 0.01)

    state = charm.run(charm.ctx.on.update_status(), state)

    if survives:
        assert charm.starts == starts
        assert state.unit_status == testing.ActiveStatus("serving in test mode")
    else:
        assert charm.starts == starts + 1
        assert state.unit_status == testing.BlockedStatus(
            f"ExampleBlog cannot serve: {PORT_TAKEN} (see `{charm.log_command}`)"
        )


def test_blog_killed_and_restarted_by_its_manager_gets_no_start_from_the_charm(
    charm: SharedCharmRun,
):
    state = charm.deploy("test")
    charm.blog.stop()
    charm.blog.start()  # the service manager's own restart, not the charm's
    starts = charm.starts

    state = charm.run(charm.ctx.on.update_status(), state)

    assert charm.starts == starts
    assert state.unit_status == testing.ActiveStatus("serving in test mode")


def test_a_blog_still_in_the_old_mode_is_not_active(
    charm: SharedCharmRun, monkeypatch: pytest.MonkeyPatch
):
    state = charm.deploy("test")
    monkeypatch.setattr("health.read", lambda *_args, **_kwargs: Health("production", "old"))

    state = charm.run(charm.ctx.on.leader_elected(), state)

    assert state.unit_status == testing.MaintenanceStatus(
        "ExampleBlog still serves production mode"
    )


def test_rapid_toggles_restart_once_each_and_end_active(charm: SharedCharmRun):
    state = charm.deploy("test")
    modes = ["production", "test"] * 3

    for mode in modes:
        state = charm.run(charm.ctx.on.config_changed(), with_mode(state, mode))

    assert (charm.starts, charm.stops) == (1 + len(modes), len(modes))
    assert state.unit_status == testing.ActiveStatus(f"serving in {modes[-1]} mode")


def test_status_costs_one_health_read_per_hook(
    charm: SharedCharmRun, monkeypatch: pytest.MonkeyPatch
):
    state = charm.deploy("test")
    reads: list[int] = []
    answer = charm.blog.health

    def counted(port: int, *args: float) -> Health | None:
        reads.append(port)
        return answer(port, *args)

    monkeypatch.setattr("health.read", counted)

    charm.run(charm.ctx.on.update_status(), state)

    assert reads == [8080]


def test_blocked_status_never_hides_an_invalid_config(charm: SharedCharmRun):
    charm.blog.port_taken = True
    state = charm.deploy("test")

    state = charm.run(charm.ctx.on.config_changed(), with_mode(state, "prod"))

    assert state.unit_status.name == "blocked"
    assert "invalid mode 'prod'" in state.unit_status.message


def test_an_invalid_mode_is_blocked_with_the_valid_ones_named(charm: SharedCharmRun):
    state = charm.deploy("test")

    state = charm.run(charm.ctx.on.config_changed(), with_mode(state, "staging"))

    assert state.unit_status == testing.BlockedStatus(
        "invalid mode 'staging': set it to 'test' or 'production'"
    )


@pytest.mark.parametrize("event", ["leader_elected", "stop"])
def test_an_event_that_does_not_reconcile_waits_while_the_service_manager_is_away(
    charm: SharedCharmRun, event: str
):
    """A hook the charm does not reconcile on still tells the truth, and touches nothing."""
    state = charm.deploy()
    charm.workload.reachable = False
    charm.blog.stop()

    state = charm.run(getattr(charm.ctx.on, event)(), state)

    assert state.unit_status == testing.WaitingStatus("waiting for the workload's service manager")
    assert (charm.starts, charm.stops) == (1, 0)


def test_a_blog_that_stopped_on_its_own_is_reported_not_running(charm: SharedCharmRun):
    state = charm.deploy()
    charm.blog.stop()

    state = charm.run(charm.ctx.on.leader_elected(), state)

    assert state.unit_status == testing.MaintenanceStatus("ExampleBlog is not running")
