"""The tempting alternatives on the real service managers: they fail where the unit tier says.

``teaching/designs.py``'s charms, on the shipped seam, run here as the
shipped charms do: on the machine, hooks inside a booted systemd container;
on Kubernetes, dispatched by ``ops.main`` in an emulated pod next to a real
Pebble, with the charm's memory either in the charm's directory (lost with
the pod, as by default) or kept by the controller (``use_juju_for_storage=True``,
through ``state-get``/``state-set``). This charm's passing of the same steps
is in ``test_systemd.py`` and ``test_pebble.py``.

Part of the teaching material, kept here beside the fixtures it needs: it
goes with it (``rm -r teaching tests/substrate/test_designs.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nocloud import pebble_pod
from nocloud.pebble_pod import HookFailedError, KillPoint, Unit
from tests.substrate.k8s_unit import K8sUnit
from tests.substrate.machine_unit import MachineBlog
from tests.substrate.test_pebble import PEBBLE_READY, observe
from workload import MODE_FILE

DESIGNS = Path(__file__).resolve().parents[2] / "teaching" / "designs.py"
REPEATS = 3


def test_always_restart_restarts_the_real_blog_on_every_repeated_config_changed(
    blog: MachineBlog,
):
    reports = blog.hooks("test", "install", "config_changed", "start", design="always-restart")
    assert reports[-1]["status"] != "error"
    starts = len(blog.starts())
    first = blog.health()

    blog.hooks("test", *["config_changed"] * REPEATS, design="always-restart")

    assert len(blog.starts()) == starts + REPEATS, "one restart per repeated config"
    assert blog.stops() == REPEATS + (starts - 1)
    assert blog.health().start_id != first.start_id


def design_unit(name: str, pebble: Path, tmp_path: Path) -> K8sUnit:
    """A unit whose pod runs design ``name`` of ``teaching/designs.py`` as its charm."""
    entrypoint = ("./src/designs.py", "k8s", name)
    return K8sUnit(tmp_path, pebble, {"mode": "test"}, entrypoint=entrypoint, extra_src=(DESIGNS,))


@pytest.fixture(params=["stored-state", "stored-juju"], ids=["state-lost", "state-kept"])
def stored_state_unit(
    request: pytest.FixtureRequest, pebble: Path, tmp_path: Path
) -> Iterator[Unit]:
    """The StoredState design as the pod's charm, its memory local or with the controller."""
    with design_unit(request.param, pebble, tmp_path) as unit:
        yield unit


def test_stored_state_after_a_real_reschedule_never_writes_the_mode_file(stored_state_unit: Unit):
    """Lost, the memory is back at its default; kept, at the old value: both equal the config."""
    unit = stored_state_unit
    kept = unit.entrypoint[-1] == "stored-juju"
    unit.pod.start_workload()
    mode = "production" if kept else "test"
    for hook in ("install", "config-changed", "start", PEBBLE_READY):
        unit.run(hook)
    if mode != "test":
        unit.juju.set_config(mode=mode)
        unit.run("config-changed")
    health = observe(unit.pod).health
    assert health is not None
    assert health["mode"] == mode
    if kept:
        assert unit.juju.state["charm-state"], "the memory is with the controller"

    new = unit.reschedule()
    new.start_workload()
    for hook in ("upgrade-charm", "config-changed"):
        unit.run(hook)
    with pytest.raises(HookFailedError, match="cannot read mode file"):
        unit.run("start")

    assert not new.file(MODE_FILE).exists()
    assert observe(new).health is None
    assert pebble_pod.pebble_api(new.socket_path, "GET", "/v1/services")[0]["current"] != "active"


# What ``container.can_connect()`` asks Pebble.
CAN_CONNECT = KillPoint("GET", "/v1/system-info")


@pytest.mark.parametrize(("name", "fails"), [("can-connect", True), (None, False)])
def test_pebble_that_dies_right_after_can_connect_fails_the_hook(
    pebble: Path, tmp_path: Path, name: str | None, fails: bool
):
    """The check is answered, Pebble dies, the next call fails: a hook error, not a wait.

    The shipped charm (``name`` None) meets the same kill at the same request
    (its first call is the reconcile's, not a check) and waits for pebble-ready.
    """
    point = CAN_CONNECT if name else KillPoint("GET", "/v1/files")
    shipped = K8sUnit(tmp_path, pebble, {"mode": "test"}) if name is None else None
    unit = shipped or design_unit(str(name), pebble, tmp_path)
    with unit:
        unit.pod.start_workload()
        proxy = unit.pod.proxy(point)

        result = unit.pod.run_hook(PEBBLE_READY, via=proxy)

        assert proxy.fired.is_set(), proxy.requests
        assert result.ok is not fails, result.output
        if fails:
            assert "ConnectionError" in result.output
