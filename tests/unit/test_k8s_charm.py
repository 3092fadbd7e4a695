"""What only the Kubernetes charm does: Pebble layers, unreachable Pebble, pod reschedules."""

from __future__ import annotations

import dataclasses
import http.client
import itertools
from pathlib import Path
from typing import Any

import ops
import pebble_workload
import pytest
from charmlibs.pathops import ContainerPath
from ops import testing
from pebble_workload import describe_failure

from tests.support.charm_run import PORT_TAKEN, with_mode
from tests.support.service_managers import K8sCharmRun, connect, failed_start
from workload import CODE_FILE, MAX_OUTPUT_CHARS, MODE_FILE, SERVICE_NAME


def service_running(state: testing.State) -> bool:
    """What Pebble reports for the service after the hook."""
    return state.get_container("blog").service_statuses.get(SERVICE_NAME) == (
        ops.pebble.ServiceStatus.ACTIVE
    )


def test_first_pebble_ready_defines_the_layer_and_starts_once(k8s: K8sCharmRun):
    state = k8s.deploy()

    assert k8s.pebble.names() == ["start"]
    assert service_running(state)
    plan = state.get_container("blog").plan
    assert plan.services[SERVICE_NAME].user == pebble_workload.SERVICE_USER
    assert plan.services[SERVICE_NAME].command == f"/usr/bin/python3 {CODE_FILE}"
    assert plan.checks[pebble_workload.CHECK_NAME].http == {"url": "http://localhost:8080/health"}


def test_waits_while_pebble_is_unreachable(k8s: K8sCharmRun):
    state = testing.State(config={"mode": "test"}, containers={k8s.container(can_connect=False)})

    state = k8s.run(k8s.ctx.on.config_changed(), state)

    assert state.unit_status.name == "waiting"
    assert not k8s.file(MODE_FILE).exists()
    assert k8s.pebble.names() == []


def test_reachable_pebble_is_used_before_pebble_ready(k8s: K8sCharmRun):
    state = k8s.fresh("production")
    state = k8s.run(k8s.ctx.on.config_changed(), state)
    state = k8s.run(k8s.ctx.on.pebble_ready(state.get_container("blog")), state)

    assert k8s.pebble.names() == ["start"]
    assert state.unit_status == testing.ActiveStatus("serving in production mode")


def test_pebble_ready_again_touches_nothing(k8s: K8sCharmRun):
    state = k8s.deploy()

    k8s.run(k8s.ctx.on.pebble_ready(state.get_container("blog")), state)

    assert k8s.pebble.names() == ["start"]


def test_changed_layer_restarts_once(k8s: K8sCharmRun):
    """The layer an older charm revision added is replaced, and the service restarted once."""
    state = k8s.deploy()
    container = state.get_container("blog")
    stale = ops.pebble.Layer(
        {"services": {SERVICE_NAME: {"override": "replace", "command": "/bin/false"}}}
    )
    layers = {pebble_workload.LAYER_NAME: stale}
    state = dataclasses.replace(
        state, containers={dataclasses.replace(container, layers=layers, check_infos=frozenset())}
    )

    state = k8s.run(k8s.ctx.on.upgrade_charm(), state)

    assert k8s.pebble.names() == ["start", "stop", "start"]
    assert (
        state.get_container("blog").plan.services[SERVICE_NAME].command.endswith("example_blog.py")
    )


def reschedule_orders() -> list[Any]:
    """Every order of the four events a new pod sees, with Pebble down for the first k of them.

    Pebble comes up once and stays up, and pebble-ready is only emitted once it
    is up, so pebble-ready never falls among the first k events.
    """
    events = ("upgrade_charm", "config_changed", "start", "pebble_ready")
    return [
        pytest.param(order, unreachable, id=f"{'>'.join(order)}:pebble-down-for-{unreachable}")
        for order in itertools.permutations(events)
        for unreachable in range(order.index("pebble_ready") + 1)
    ]


@pytest.mark.parametrize(("order", "unreachable"), reschedule_orders())
def test_pod_reschedule_starts_once_in_any_order(
    k8s: K8sCharmRun, order: tuple[str, ...], unreachable: int
):
    """A new pod: empty workload filesystem, empty Pebble plan, no charm state at all."""
    state = k8s.fresh("production")
    for index, event in enumerate(order):
        state = connect(state, can_connect=index >= unreachable)
        if event == "pebble_ready":
            state = k8s.run(k8s.ctx.on.pebble_ready(state.get_container("blog")), state)
        else:
            state = k8s.run(getattr(k8s.ctx.on, event)(), state)

    assert k8s.pebble.names() == ["start"]
    assert k8s.file(MODE_FILE).read_text() == "production\n"
    assert service_running(state)
    assert state.unit_status == testing.ActiveStatus("serving in production mode")


def test_container_restart_then_pebble_ready_starts_once(k8s: K8sCharmRun, tmp_path: Path):
    """A workload container restart: new filesystem, new Pebble, only start and pebble-ready."""
    state = k8s.deploy("production")
    for path in sorted(tmp_path.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    state = dataclasses.replace(state, containers={k8s.container()})

    state = k8s.run(k8s.ctx.on.start(), connect(state, can_connect=False))
    state = connect(state)
    state = k8s.run(k8s.ctx.on.pebble_ready(state.get_container("blog")), state)
    state = k8s.run(k8s.ctx.on.pebble_ready(state.get_container("blog")), state)

    assert k8s.pebble.names() == ["start", "start"]
    assert k8s.file(MODE_FILE).read_text() == "production\n"
    assert service_running(state)


@pytest.mark.parametrize("running", [False, True], ids=["new-pod", "toggle"])
def test_pebble_drops_between_the_read_and_the_write(
    k8s: K8sCharmRun, monkeypatch: pytest.MonkeyPatch, running: bool
):
    """Pebble goes away after the charm read the files and before it writes them.

    The hook must not fail, nothing may be half-written, and the unit waits;
    the pebble-ready that follows Pebble's return finishes with one start.
    """
    state = k8s.deploy("test") if running else k8s.fresh("test")
    starts_before = k8s.pebble.starts

    def unreachable(*args: object, **kwargs: object):
        raise ops.pebble.ConnectionError("Pebble went away")

    with monkeypatch.context() as patch:
        patch.setattr(ContainerPath, "write_text", unreachable)
        state = k8s.run(k8s.ctx.on.config_changed(), with_mode(state, "production"))

    assert state.unit_status == testing.WaitingStatus("waiting for the workload's service manager")
    assert k8s.pebble.starts == starts_before
    assert not k8s.file(MODE_FILE).exists() or k8s.file(MODE_FILE).read_text() == "test\n"

    state = k8s.run(k8s.ctx.on.pebble_ready(state.get_container("blog")), state)

    assert k8s.pebble.starts == starts_before + 1
    assert k8s.file(MODE_FILE).read_text() == "production\n"
    assert state.unit_status == testing.ActiveStatus("serving in production mode")


def test_pebble_api_error_waits_too(k8s: K8sCharmRun, monkeypatch: pytest.MonkeyPatch):
    def refuse(*args: object, **kwargs: object):
        raise ops.pebble.APIError({}, 500, "Internal Server Error", "busy")

    monkeypatch.setattr(ops.Container, "get_plan", refuse)
    state = testing.State(config={"mode": "test"}, containers={k8s.container()})

    state = k8s.run(k8s.ctx.on.config_changed(), state)

    assert state.unit_status.name == "waiting"
    assert k8s.pebble.names() == []


@pytest.mark.parametrize(
    "error",
    [ConnectionResetError(104, "reset by peer"), http.client.RemoteDisconnected("gone")],
    ids=["reset", "disconnected"],
)
def test_pebble_dying_while_it_holds_a_request_waits_too(
    k8s: K8sCharmRun, monkeypatch: pytest.MonkeyPatch, error: Exception
):
    """A Pebble that dies mid-request drops the connection, which ops does not wrap."""

    def drop(*args: object, **kwargs: object):
        raise error

    monkeypatch.setattr(ops.Container, "start", drop)
    state = testing.State(config={"mode": "test"}, containers={k8s.container()})

    state = k8s.run(k8s.ctx.on.config_changed(), state)

    assert state.unit_status == testing.WaitingStatus("waiting for the workload's service manager")


def test_failed_start_is_stopped_so_pebble_does_not_retry_it_forever(k8s: K8sCharmRun):
    k8s.blog.port_taken = True

    state = k8s.deploy("test")

    assert k8s.pebble.names() == ["start", "stop"]
    assert not service_running(state)
    assert state.unit_status == testing.BlockedStatus(
        f"ExampleBlog cannot serve: {PORT_TAKEN} (see `pebble logs example-blog`)"
    )


def test_failure_reason_without_the_blogs_words_is_pebbles():
    error = failed_start(1, "ignored")
    for task in error.change.tasks:
        task.log.clear()

    assert describe_failure(error) == "it exited with status 1"


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        (
            ["Traceback (most recent call last):", '  File "x", line 1', "MemoryError", "  "],
            "it exited with status 1: MemoryError",
        ),
        (["é" * 400], f"it exited with status 1: {'é' * (MAX_OUTPUT_CHARS - 1)}\u2026"),
    ],
    ids=["exception", "long"],
)
def test_an_unexplained_failed_start_shows_the_services_last_line(
    k8s: K8sCharmRun, output: list[str], reason: str
):
    assert describe_failure(failed_start(1, "", output)) == reason

    k8s.blog.crash_status = 1
    state = k8s.deploy("test")

    assert state.unit_status.message.startswith(
        "ExampleBlog cannot serve: it exited with status 1"
    )


def test_the_reason_is_the_blogs_whole_line_even_if_it_quotes_the_prefix():
    # A garbled mode file is quoted in the reason, and it may hold anything.
    reason = "mode file /etc/example_blog/mode holds 'example-blog: x'; expected one of test"
    assert describe_failure(failed_start(2, reason)) == reason


@pytest.mark.parametrize(
    ("err", "reason"),
    [
        ("", "Pebble gave no reason"),
        ("cannot perform these tasks:\n- Stop (stopped)\n- Start (timed out)", "timed out"),
        ("cannot perform these tasks:\n- XDG_RUNTIME_DIR not set", "XDG_RUNTIME_DIR not set"),
    ],
    ids=["no-error-text", "last-line-in-parentheses", "last-line-as-is"],
)
def test_without_the_blogs_words_the_reason_is_pebbles_last_line(err: str, reason: str):
    error = failed_start(1, "ignored")
    for task in error.change.tasks:
        task.log.clear()

    assert describe_failure(ops.pebble.ChangeError(err, error.change)) == reason


def test_a_changed_check_alone_replaces_the_layer(k8s: K8sCharmRun):
    state = k8s.deploy()
    container = state.get_container("blog")
    raw = pebble_workload.LAYER.to_dict()
    raw.get("checks", {})[pebble_workload.CHECK_NAME]["period"] = "1m"
    stale = ops.pebble.Layer(raw)
    layers = {pebble_workload.LAYER_NAME: stale}
    state = dataclasses.replace(
        state, containers={dataclasses.replace(container, layers=layers, check_infos=frozenset())}
    )

    state = k8s.run(k8s.ctx.on.upgrade_charm(), state)

    assert k8s.pebble.names() == ["start", "stop", "start"]
    assert state.get_container("blog").plan.checks[pebble_workload.CHECK_NAME].period == "10s"


def test_an_event_that_does_not_reconcile_waits_while_pebble_is_away(k8s: K8sCharmRun):
    """A hook the charm does not reconcile on (``stop``, as the pod goes) still tells the truth."""
    state = k8s.deploy()
    container = state.get_container("blog")
    state = dataclasses.replace(
        state, containers={dataclasses.replace(container, can_connect=False)}
    )
    k8s.blog.stop()

    state = k8s.run(k8s.ctx.on.stop(), state)

    assert state.unit_status == testing.WaitingStatus("waiting for the workload's service manager")
