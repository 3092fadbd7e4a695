"""The designs of ``teaching/designs.py`` fail where predicted; the shipped charm does not.

Each test runs one design and the shipped charm through the same steps, on
the same faked service manager and fake blog (``tests/support``), and is
named for the failure it shows. Starts and stops are counted where each
charm hands them to systemd or Pebble; "serving" is what the fake blog read
from its mode file when it last started, as the real one does.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

import pytest
from ops import testing

from teaching import designs
from teaching.designs import AlwaysRestartCharm, StoredStateCharm, TemptingDesign
from tests.support.charm_run import CharmRun, with_mode
from tests.support.service_managers import K8sCharmRun, MachineCharmRun
from workload import MODE_FILE, StartFailedError

REPEATS = 3
R = TypeVar("R", bound=CharmRun)


def running(run: R, design: type[TemptingDesign] | None) -> R:
    """The same run (fakes, files) with ``design`` as its charm, or the shipped charm for None."""
    if design is None:
        return run
    as_charm = designs.machine_charm if run.variant == "machine" else designs.k8s_charm
    return run.running(as_charm(design))


def deploy(charm: CharmRun, mode: str) -> testing.State:
    """A deploy on the happy path: the service manager reachable from the first hook on."""
    state = charm.fresh(mode)
    for event in (charm.ctx.on.install(), charm.ctx.on.config_changed()):
        state = charm.run(event, state)
    return start(charm, state)


def start(charm: CharmRun, state: testing.State) -> testing.State:
    """``start``, and on Kubernetes ``pebble-ready`` after it."""
    state = charm.run(charm.ctx.on.start(), state)
    if isinstance(charm, K8sCharmRun):
        state = charm.run(charm.ctx.on.pebble_ready(state.get_container("blog")), state)
    return state


@pytest.mark.parametrize(("design", "restarts"), [(AlwaysRestartCharm, REPEATS), (None, 0)])
def test_always_restart_restarts_on_every_repeated_config_changed(
    variant: CharmRun, design: type[TemptingDesign] | None, restarts: int
):
    """A repeated config changes nothing, yet the design stops and starts the blog each time."""
    charm = running(variant, design)
    state = deploy(charm, "test")
    starts, stops = charm.starts, charm.stops

    for _ in range(REPEATS):
        state = charm.run(charm.ctx.on.config_changed(), state)

    assert (charm.starts - starts, charm.stops - stops) == (restarts, restarts)
    assert charm.blog.serving == "test"


@pytest.mark.parametrize(("design", "starts"), [(AlwaysRestartCharm, 1), (None, 0)])
def test_always_restart_adds_a_restart_after_every_reboot(
    machine: MachineCharmRun, design: type[TemptingDesign] | None, starts: int
):
    """After a reboot systemd starts the enabled blog once; the hooks after it must add none."""
    charm = running(machine, design)
    state = deploy(charm, "production")

    machine.systemctl.reboot()
    for event in (charm.ctx.on.start(), charm.ctx.on.config_changed()):
        state = charm.run(event, state)

    assert charm.starts == starts
    assert charm.blog.serving == "production"


def reschedule(k8s: K8sCharmRun, state: testing.State, *, keep_stored_state: bool) -> None:
    """A new pod: a fresh workload filesystem; the charm's memory kept or lost; Juju's events."""
    k8s.wipe()
    stored = state.stored_states if keep_stored_state else frozenset()
    new_pod = dataclasses.replace(k8s.fresh(str(state.config["mode"])), stored_states=stored)
    for event in (k8s.ctx.on.upgrade_charm(), k8s.ctx.on.config_changed()):
        new_pod = k8s.run(event, new_pod)
    start(k8s, new_pod)


def assert_no_mode_file_so_no_blog(
    charm: K8sCharmRun, state: testing.State, *, keep_stored_state: bool
) -> None:
    """After the reschedule nothing wrote the mode file: the blog's start fails the hook."""
    with pytest.raises(testing.errors.UncaughtCharmError) as failed:
        reschedule(charm, state, keep_stored_state=keep_stored_state)

    assert isinstance(failed.value.__cause__, StartFailedError)
    assert "cannot read mode file" in str(failed.value.__cause__)
    assert not charm.file(MODE_FILE).exists()
    assert charm.blog.serving is None


def test_stored_state_lost_in_a_reschedule_leaves_the_default_mode_unwritten(k8s: K8sCharmRun):
    """The memory starts again at its default, which equals the config: nothing writes the file."""
    charm = running(k8s, StoredStateCharm)
    state = deploy(charm, "test")
    assert charm.blog.serving == "test"

    assert_no_mode_file_so_no_blog(charm, state, keep_stored_state=False)


def test_stored_state_kept_by_juju_outlives_the_pods_mode_file(k8s: K8sCharmRun):
    """With ``use_juju_for_storage=True`` the memory survives the pod, and the file does not."""
    charm = running(k8s, StoredStateCharm)
    state = deploy(charm, "test")
    state = charm.run(charm.ctx.on.config_changed(), with_mode(state, "production"))
    assert charm.blog.serving == "production"

    assert_no_mode_file_so_no_blog(charm, state, keep_stored_state=True)


@pytest.mark.parametrize("keep_stored_state", [False, True], ids=["state-lost", "state-kept"])
@pytest.mark.parametrize("mode", ["test", "production"])
def test_this_charm_serves_the_configured_mode_after_the_same_reschedules(
    k8s: K8sCharmRun, mode: str, keep_stored_state: bool
):
    """Whatever the charm's memory, the shipped charm reads the fresh pod and writes the file."""
    state = deploy(k8s, mode)
    starts = k8s.starts

    reschedule(k8s, state, keep_stored_state=keep_stored_state)

    assert k8s.starts == starts + 1, "one start, in the new pod"
    assert k8s.file(MODE_FILE).read_text() == f"{mode}\n"
    assert k8s.blog.serving == mode
