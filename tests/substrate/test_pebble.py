"""The Kubernetes charm against a real Pebble in an emulated pod (``nocloud.pebble_pod``).

Every hook is the real charm dispatched by ops.main; every observation is
made through Pebble itself (its changes and each service's ``current-since``)
and through the blog's ``/health`` inside the pod's network, whose
``start_id`` is new for every process start.
"""

from __future__ import annotations

import datetime
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ops
import pytest
from pebble_workload import CHECK_NAME, CONTAINER_NAME

import blog_charm
from nocloud import pebble_pod, settings
from nocloud.pebble_pod import KillPoint, Pod, Unit
from tests.substrate import k8s_unit
from tests.substrate.k8s_unit import K8sUnit
from workload import CODE_FILE, MODE_FILE, PORT, SERVICE_NAME, blog_code

PEBBLE_READY = f"{CONTAINER_NAME}-pebble-ready"
WAITING = ("waiting", "waiting for the workload's service manager")


def active(mode: str) -> tuple[str, str]:
    return ("active", f"serving in {mode} mode")


@pytest.fixture
def unit(pebble: Path, tmp_path: Path) -> Iterator[Unit]:
    with K8sUnit(tmp_path, pebble, {"mode": "test"}) as the_unit:
        yield the_unit


@dataclass(frozen=True)
class Observed:
    """The service as Pebble and the blog itself report it."""

    current: str
    since: datetime.datetime | None
    starts: int
    stops: int
    health: dict[str, Any] | None

    @property
    def start_id(self) -> str | None:
        return self.health["start_id"] if self.health else None


def observe(pod: Pod) -> Observed:
    changes = pod.client().get_changes(select=ops.pebble.ChangeState.ALL)
    kinds = [task.kind for change in changes for task in change.tasks]
    [service] = pebble_pod.pebble_api(
        pod.socket_path, "GET", f"/v1/services?names={SERVICE_NAME}"
    ) or [{"current": "absent"}]
    since = service.get("current-since")
    assert pod.workload is not None
    return Observed(
        current=service["current"],
        since=datetime.datetime.fromisoformat(since) if since else None,
        starts=kinds.count("start"),
        stops=kinds.count("stop"),
        health=k8s_unit.health(pod.workload, PORT),
    )


def deploy(unit: Unit, mode: str = "test") -> Observed:
    """A fresh deployment: the first hooks run before the workload container is up."""
    unit.juju.set_config(mode=mode)
    for hook in ("install", "config-changed", "start"):
        unit.run(hook)
        assert unit.juju.unit_status == WAITING
    unit.pod.start_workload()
    unit.run(PEBBLE_READY)
    return observe(unit.pod)


def assert_serving(unit: Unit, observed: Observed, mode: str) -> None:
    assert observed.current == "active"
    assert observed.health is not None
    assert observed.health["mode"] == mode
    assert unit.pod.file(MODE_FILE).read_text() == f"{mode}\n"
    assert unit.juju.unit_status == active(mode)


def proc_status(pid: int, key: str) -> list[str]:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == key:
            return value.split()
    raise KeyError(key)


def test_first_pebble_ready_starts_the_blog_once(unit: Unit):
    observed = deploy(unit)

    assert (observed.starts, observed.stops) == (1, 0)
    assert_serving(unit, observed, "test")
    check = pebble_pod.pebble_api(
        unit.pod.socket_path, "POST", "/v1/checks/refresh", {"name": CHECK_NAME}
    )
    assert check.get("error", "") == ""
    assert check["info"]["status"] == "up"
    mode_file = unit.pod.file(MODE_FILE)
    assert (mode_file.stat().st_mode & 0o777, mode_file.stat().st_uid) == (0o644, 0)
    assert unit.pod.file(CODE_FILE).read_text() == blog_code()
    assert unit.juju.opened_ports == [f"{PORT}/tcp"]
    assert unit.juju.workload_version == "1.0.0"
    # Pebble is the container's PID 1; the blog runs as the image's
    # unprivileged user, as the layer asks.
    assert unit.pod.workload is not None
    assert proc_status(unit.pod.workload.pid, "NSpid")[-1] == "1"
    assert observed.health is not None
    [blog] = [
        pid
        for pid in unit.pod.workload.processes()
        if proc_status(pid, "NSpid")[-1] == str(observed.health["pid"])
    ]
    assert set(proc_status(blog, "Uid")) == {str(settings.DAEMON_ID)}


def test_repeated_events_do_not_restart(unit: Unit):
    before = deploy(unit)
    mode_file = unit.pod.file(MODE_FILE).stat()

    for hook in ("config-changed", PEBBLE_READY, "update-status", "upgrade-charm", "start"):
        unit.run(hook)

        assert observe(unit.pod) == before, f"{hook} restarted the blog"
        after = unit.pod.file(MODE_FILE).stat()
        assert (after.st_ino, after.st_mtime_ns) == (mode_file.st_ino, mode_file.st_mtime_ns)
        assert unit.juju.unit_status == active("test")


def test_toggle_restarts_once_each_way(unit: Unit):
    observed = deploy(unit)
    seen = {observed.start_id}

    for mode, stops in (("production", 1), ("test", 2)):
        unit.juju.set_config(mode=mode)
        unit.run("config-changed")

        after = observe(unit.pod)
        assert (after.starts, after.stops) == (1 + stops, stops)
        assert after.since is not None
        assert observed.since is not None
        assert after.since > observed.since
        assert after.start_id not in seen
        assert_serving(unit, after, mode)
        seen.add(after.start_id)
        observed = after


RESCHEDULE_ORDERS = [("start", PEBBLE_READY), (PEBBLE_READY, "start")]


@pytest.mark.parametrize("pebble_up", ["first", "at-pebble-ready"])
@pytest.mark.parametrize("order", RESCHEDULE_ORDERS, ids=["start-first", "pebble-ready-first"])
def test_pod_reschedule_starts_once(unit: Unit, order: tuple[str, str], pebble_up: str):
    """A new pod: empty root, new volume and Pebble, new charm container; Juju replays.

    Pebble is up either from the first hook on, or only from pebble-ready on
    (the hooks before it find no socket). An update-status follows, as it
    will on any settled unit.
    """
    deploy(unit, "production")
    old = unit.pod

    new = unit.reschedule()

    assert old.workload is not None
    assert old.workload.processes() == []
    if pebble_up == "first":
        new.start_workload()
    started: Observed | None = None
    for hook in ("upgrade-charm", "config-changed", *order, "update-status"):
        if hook == PEBBLE_READY and new.workload is None:
            new.start_workload()
        unit.run(hook)
        if new.workload is not None and started is None:
            started = observe(new)
            started = started if started.current == "active" else None
    assert started is not None
    assert started.health is not None

    final = observe(new)
    assert (final.starts, final.stops) == (1, 0)
    assert final == started
    assert_serving(unit, final, "production")


def run_until_killed(unit: Unit, hook: str, point: KillPoint) -> pebble_pod.PebbleProxy:
    """Run ``hook`` with the workload container dying at ``point``; check the hook's fate."""
    pod = unit.pod
    proxy = pod.proxy(point)

    result = pod.run_hook(hook, via=proxy)

    assert proxy.fired.is_set(), proxy.requests
    assert pod.workload is not None
    assert not pod.workload.running
    assert pod.workload.processes() == []
    assert result.ok, result.output
    assert unit.juju.unit_status == WAITING
    return proxy


def recover(unit: Unit, mode: str) -> Observed:
    """The container comes back empty; its pebble-ready finishes the work."""
    unit.pod.restart_workload()
    unit.run(PEBBLE_READY)
    observed = observe(unit.pod)
    assert_serving(unit, observed, mode)
    return observed


def test_pebble_dies_between_reading_and_writing_on_a_new_pod(unit: Unit):
    unit.juju.set_config(mode="production")
    old_root = unit.pod.start_workload().root

    proxy = run_until_killed(unit, PEBBLE_READY, KillPoint("GET", "/v1/services"))

    # Pebble died after the charm's last read and before its first write.
    assert [request.method for request in proxy.requests] == ["GET"] * len(proxy.requests)
    assert not (old_root / MODE_FILE.lstrip("/")).exists()
    assert not (old_root / CODE_FILE.lstrip("/")).exists()
    observed = recover(unit, "production")
    assert (observed.starts, observed.stops) == (1, 0)


def test_pebble_dies_right_after_the_charm_stopped_the_blog(unit: Unit):
    deploy(unit, "test")
    old_root = unit.pod.file("/")
    unit.juju.set_config(mode="production")

    proxy = run_until_killed(unit, "config-changed", KillPoint("GET", "/v1/changes/*/wait"))

    # The charm's last two calls: the stop, and the wait for it, which Pebble answered.
    stop = proxy.requests[-2]
    assert (str(stop), stop.json()["action"]) == ("POST /v1/services", "stop")
    # Nothing was written after the stop: the dead container holds the old files, whole.
    assert (old_root / MODE_FILE.lstrip("/")).read_text() == "test\n"
    assert (old_root / CODE_FILE.lstrip("/")).read_text() == blog_code()
    observed = recover(unit, "production")
    # The stop happened before the kill; only the recovery's start follows it.
    assert (observed.starts, observed.stops) == (2, 1)


def test_pebble_dies_while_the_charm_waits_for_the_start(unit: Unit):
    deploy(unit, "test")
    old_root = unit.pod.file("/")
    unit.juju.set_config(mode="production")

    run_until_killed(
        unit, "config-changed", KillPoint("GET", "/v1/changes/*/wait", 2, in_flight=True)
    )

    # The files were written, whole, before the start that never finished.
    assert (old_root / MODE_FILE.lstrip("/")).read_text() == "production\n"
    assert (old_root / CODE_FILE.lstrip("/")).read_text() == blog_code()
    recover(unit, "production")


PORT_TAKEN = f"cannot listen on port {PORT}: Address already in use"
CANNOT_SERVE = (
    "blocked",
    f"ExampleBlog cannot serve: {PORT_TAKEN} (see `pebble logs {SERVICE_NAME}`)",
)


def service_state(pod: Pod) -> str:
    [service] = pebble_pod.pebble_api(pod.socket_path, "GET", f"/v1/services?names={SERVICE_NAME}")
    return service["current"]


def blocked_then_freed(unit: Unit, mode: str, *, starts: int, stops: int) -> None:
    """A hook with the port taken tries one start and is Blocked; once freed, one start more.

    ``starts`` and ``stops`` are Pebble's counts after the blocked hook. A
    hook that meets Pebble in the middle of a restart of its own waits for it
    to end (``blog_charm.SETTLE_SECONDS``) and still ends Blocked, with the
    one start it made itself.
    """
    began = time.monotonic()
    unit.run("update-status")

    assert time.monotonic() - began < blog_charm.SETTLE_SECONDS
    assert unit.juju.unit_status == CANNOT_SERVE
    observed = observe(unit.pod)
    assert (observed.starts, observed.stops, observed.current) == (starts, stops, "inactive")

    unit.pod.free_port()
    unit.run("update-status")

    observed = observe(unit.pod)
    assert (observed.starts, observed.stops) == (starts + 1, stops)
    assert_serving(unit, observed, mode)


def test_port_taken_blocks_with_the_reason_until_freed_then_one_start(unit: Unit):
    unit.pod.squat(PORT)
    unit.pod.wait_squatted()

    observed = deploy(unit, "production")

    assert unit.juju.unit_status == CANNOT_SERVE
    # Pebble's start failed and the charm stopped the service: no restart loop.
    assert (observed.starts, observed.stops) == (1, 1)
    assert observed.current == "inactive"
    assert observed.health is None

    blocked_then_freed(unit, "production", starts=2, stops=2)


def test_blog_killed_from_outside_is_restarted_by_pebble_and_not_by_the_charm(unit: Unit):
    first = deploy(unit)
    assert unit.pod.workload is not None

    unit.pod.workload.kill_process(CODE_FILE)

    # Pebble's own restart, after its first backoff: no change of the charm's.
    workload = unit.pod.workload
    restarted = pebble_pod.wait_for(
        lambda: (h := k8s_unit.health(workload, PORT)) and h["start_id"] != first.start_id and h,
        "Pebble to restart the blog",
    )
    before = observe(unit.pod)
    assert (before.starts, before.stops) == (1, 0)

    unit.run("update-status")

    after = observe(unit.pod)
    assert after == before
    assert after.start_id == restarted["start_id"]
    assert_serving(unit, after, "test")


def test_blog_dying_later_with_its_port_taken_ends_pebbles_restart_loop(unit: Unit):
    """Killed while another process waits for its port: Pebble backs off and retries forever."""
    deploy(unit)
    assert unit.pod.workload is not None
    unit.pod.squat(PORT)

    unit.pod.workload.kill_process(CODE_FILE)
    unit.pod.wait_squatted()

    pebble_pod.wait_for(lambda: service_state(unit.pod) == "backoff", "Pebble to back off")
    blocked_then_freed(unit, "test", starts=2, stops=1)


RAPID_MODES = ("production", "test") * 3
RAPID_WINDOW = 10.0
# The operator's changes, evenly spread over the window.
RAPID_SPACING = RAPID_WINDOW / len(RAPID_MODES)
RAPID_MAX_HOOKS = 3 * len(RAPID_MODES)
RESTARTED = re.compile(r"reconciled mode '(\w+)': service restarted")


def restarted_modes(unit: Unit, logged_before: int) -> list[str]:
    """The modes the charm restarted the blog in, from its log since ``logged_before``."""
    return RESTARTED.findall(unit.juju.log[logged_before:])


def test_six_mode_changes_within_ten_seconds_restart_once_per_change_seen_and_end_active(
    unit: Unit,
):
    """Six ``juju config`` changes in ten seconds, delivered as Juju delivers them.

    Every start here waits Pebble's second for the blog to stay up, so a hook
    with a restart can take longer than the operator between two changes.
    Juju then runs one config-changed for the changes made meanwhile: each
    hook reads the config as it is when it runs. So the hooks run back to back
    while the config differs from what the last hook began with, and every
    restart must be for a mode that differs from the one before it.
    """
    deploy(unit)
    changed: list[float] = []
    news = threading.Event()

    def operator() -> None:
        began = time.monotonic()
        for index, mode in enumerate(RAPID_MODES):
            time.sleep(max(0.0, began + index * RAPID_SPACING - time.monotonic()))
            unit.juju.set_config(mode=mode)
            changed.append(time.monotonic() - began)
            news.set()

    logged = len(unit.juju.log)
    changes = threading.Thread(target=operator, daemon=True)
    changes.start()
    hooks, seen = 0, "test"
    while True:
        current = unit.juju.config["mode"]
        if current != seen:
            assert hooks < RAPID_MAX_HOOKS, "the hooks never caught up with the changes"
            seen = current
            unit.run("config-changed")
            hooks += 1
        elif not changes.is_alive():
            break
        else:
            news.wait(timeout=RAPID_SPACING)
            news.clear()
    changes.join(timeout=RAPID_WINDOW)

    assert changed[-1] < RAPID_WINDOW, f"the six changes took {changed[-1]:.1f}s"
    restarts = restarted_modes(unit, logged)
    assert restarts, "no hook saw a change"
    previous = ["test", *restarts[:-1]]
    assert all(mode != before for mode, before in zip(restarts, previous, strict=True))
    observed = observe(unit.pod)
    assert (observed.starts, observed.stops) == (1 + len(restarts), len(restarts))
    assert restarts[-1] == RAPID_MODES[-1]
    assert unit.juju.unit_status == active(RAPID_MODES[-1])
    assert_serving(unit, observed, RAPID_MODES[-1])
