"""The status tells what the blog itself answers, on both substrates, also when it cannot serve.

Behind each service manager stands the fake blog of ``conftest``: it reads its
mode file when it starts and cannot start while its port is taken. The charm
sees it only through its ``/health`` answer and what the service manager says.
"""

from __future__ import annotations

import pytest
from ops import testing

from health import Health
from tests.unit.conftest import PORT_TAKEN, Harness, MachineHarness, with_mode

LOG_COMMANDS = {"machine": "journalctl -u example-blog", "k8s": "pebble logs example-blog"}


def cannot_serve(harness: Harness) -> testing.BlockedStatus:
    variant = "machine" if isinstance(harness, MachineHarness) else "k8s"
    return testing.BlockedStatus(
        f"ExampleBlog cannot serve: {PORT_TAKEN} (see `{LOG_COMMANDS[variant]}`)"
    )


def test_port_taken_blocks_with_the_reason_and_retries_once_per_hook(harness: Harness):
    harness.blog.port_taken = True

    state = harness.deploy("production")

    assert state.unit_status == cannot_serve(harness)
    for event in (harness.ctx.on.update_status(), harness.ctx.on.config_changed()):
        starts = harness.starts
        state = harness.run(event, state)
        assert harness.starts == starts + 1, "one start per hook, no more"
        assert state.unit_status == cannot_serve(harness)
    assert harness.blog.serving is None
    assert harness.file("/etc/example_blog/mode").read_text() == "production\n"

    harness.blog.port_taken = False
    starts = harness.starts
    state = harness.run(harness.ctx.on.update_status(), state)

    assert harness.starts == starts + 1
    assert state.unit_status == testing.ActiveStatus("serving in production mode")


def test_a_running_blog_that_does_not_answer_is_not_active(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    """Its manager says it runs (it is starting, or it hangs): still not Active."""
    state = harness.deploy("test")
    monkeypatch.setattr("health.read", lambda *_args, **_kwargs: None)

    state = harness.run(harness.ctx.on.update_status(), state)

    assert state.unit_status == testing.MaintenanceStatus(
        "ExampleBlog is running but not answering yet"
    )


def test_blog_killed_and_restarted_by_its_manager_gets_no_start_from_the_charm(
    harness: Harness,
):
    state = harness.deploy("test")
    harness.blog.stop()
    harness.blog.start()  # the service manager's own restart, not the charm's
    starts = harness.starts

    state = harness.run(harness.ctx.on.update_status(), state)

    assert harness.starts == starts
    assert state.unit_status == testing.ActiveStatus("serving in test mode")


def test_a_blog_still_in_the_old_mode_is_not_active(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    state = harness.deploy("test")
    monkeypatch.setattr("health.read", lambda *_args, **_kwargs: Health("production", "old"))

    state = harness.run(harness.ctx.on.leader_elected(), state)

    assert state.unit_status == testing.MaintenanceStatus(
        "ExampleBlog still serves production mode"
    )


def test_rapid_toggles_restart_once_each_and_end_active(harness: Harness):
    state = harness.deploy("test")
    modes = ["production", "test"] * 3

    for mode in modes:
        state = harness.run(harness.ctx.on.config_changed(), with_mode(state, mode))

    assert (harness.starts, harness.stops) == (1 + len(modes), len(modes))
    assert state.unit_status == testing.ActiveStatus(f"serving in {modes[-1]} mode")


def test_status_costs_one_health_read_per_hook(harness: Harness, monkeypatch: pytest.MonkeyPatch):
    state = harness.deploy("test")
    reads: list[int] = []
    answer = harness.blog.health

    def counted(port: int, *args: float) -> Health | None:
        reads.append(port)
        return answer(port, *args)

    monkeypatch.setattr("health.read", counted)

    harness.run(harness.ctx.on.update_status(), state)

    assert reads == [8080]


def test_blocked_status_never_hides_an_invalid_config(harness: Harness):
    harness.blog.port_taken = True
    state = harness.deploy("test")

    state = harness.run(harness.ctx.on.config_changed(), with_mode(state, "prod"))

    assert state.unit_status.name == "blocked"
    assert "invalid mode 'prod'" in state.unit_status.message


def test_an_invalid_mode_is_blocked_with_the_valid_ones_named(harness: Harness):
    state = harness.deploy("test")

    state = harness.run(harness.ctx.on.config_changed(), with_mode(state, "staging"))

    assert state.unit_status == testing.BlockedStatus(
        "invalid mode 'staging': set it to 'test' or 'production'"
    )
