"""The designs of ``teaching/designs.py`` fail where predicted; the shipped charm does not.

Each test runs one design and the shipped charm through the same steps, on
the same faked service manager and fake blog (``tests/support``), and is
named for the failure it shows. Starts and stops are counted where each
charm hands them to systemd or Pebble; "serving" is what the fake blog read
from its mode file when it last started, as the real one does.
"""

from __future__ import annotations

import dataclasses
import shutil
from typing import TypeVar

import ops
import pytest
from ops import testing

from teaching import designs
from teaching.designs import (
    AlwaysRestartCharm,
    CachedConfigCharm,
    CanConnectCharm,
    DeferCharm,
    PebbleReadyOnceCharm,
    ReadFileFirstCharm,
    StoredStateCharm,
    TemptingDesign,
    UnsetStoredStateCharm,
)
from tests.support.charm_run import CharmRun, with_mode
from tests.support.service_managers import K8sCharmRun, MachineCharmRun, connect
from workload import CODE_FILE, MODE_FILE, SERVICE_NAME, StartFailedError

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


def hand_edit(charm: CharmRun, mode: str) -> None:
    """An operator writes ``mode`` into the mode file; the running blog read it at its start."""
    charm.file(MODE_FILE).parent.mkdir(parents=True, exist_ok=True)
    charm.file(MODE_FILE).write_text(f"{mode}\n")


@pytest.mark.parametrize(("design", "repaired"), [(UnsetStoredStateCharm, False), (None, True)])
def test_stored_unset_never_repairs_a_hand_edited_file(
    variant: CharmRun, design: type[TemptingDesign] | None, repaired: bool
):
    """Memory equals config, so the design never looks at the file the operator changed."""
    charm = running(variant, design)
    state = deploy(charm, "test")
    hand_edit(charm, "production")

    for event in (charm.ctx.on.config_changed(), charm.ctx.on.update_status()):
        state = charm.run(event, state)

    assert (charm.file(MODE_FILE).read_text() == "test\n") is repaired


def blog_dies(charm: CharmRun, state: testing.State) -> testing.State:
    """The blog exits for good; its service manager reports it stopped."""
    charm.blog.stop()
    if not isinstance(charm, K8sCharmRun):
        return state
    container = state.get_container("blog")
    stopped = {SERVICE_NAME: ops.pebble.ServiceStatus.INACTIVE}
    return dataclasses.replace(
        state, containers={dataclasses.replace(container, service_statuses=stopped)}
    )


@pytest.mark.parametrize(
    ("design", "serving"),
    [(UnsetStoredStateCharm, None), (ReadFileFirstCharm, None), (None, "test")],
)
def test_a_blog_that_stopped_for_good_is_never_started_again(
    variant: CharmRun, design: type[TemptingDesign] | None, serving: str | None
):
    """Memory (3) or file (5) equal the config: no hook but start or pebble-ready starts it."""
    charm = running(variant, design)
    state = deploy(charm, "test") if design is not ReadFileFirstCharm else deploy_by_hand(charm)
    state = blog_dies(charm, state)

    for event in (charm.ctx.on.config_changed(), charm.ctx.on.update_status()):
        state = charm.run(event, state)

    assert charm.blog.serving == serving


def deploy_by_hand(charm: CharmRun) -> testing.State:
    """Design 5's deploy once an operator wrote the mode file it needs: serving test mode."""
    state = charm.run(charm.ctx.on.install(), charm.fresh("test"))
    hand_edit(charm, "test")
    return start(charm, charm.run(charm.ctx.on.config_changed(), state))


def test_stored_unset_kept_by_juju_outlives_the_pods_mode_file(k8s: K8sCharmRun):
    """The fix needs the memory to die with the pod; the controller keeps it: no file written."""
    charm = running(k8s, UnsetStoredStateCharm)
    state = deploy(charm, "test")

    assert_no_mode_file_so_no_blog(charm, state, keep_stored_state=True)


def test_stored_unset_survives_a_reschedule_that_loses_the_memory(k8s: K8sCharmRun):
    """What the guidance promises of it, and it holds: the lost memory matches no mode."""
    charm = running(k8s, UnsetStoredStateCharm)
    state = deploy(charm, "test")

    reschedule(charm, state, keep_stored_state=False)

    assert charm.blog.serving == "test"


def test_read_file_first_fails_every_hook_before_the_file_exists(variant: CharmRun):
    """A fresh install has no mode file: reading it first fails config-changed."""
    charm = running(variant, ReadFileFirstCharm)
    state = charm.run(charm.ctx.on.install(), charm.fresh("test"))

    with pytest.raises(testing.errors.UncaughtCharmError) as failed:
        charm.run(charm.ctx.on.config_changed(), state)

    assert isinstance(failed.value.__cause__, FileNotFoundError)


def test_read_file_first_leaves_new_files_under_the_old_process(machine: MachineCharmRun):
    """It writes, then restarts: a failed stop leaves the file new and the blog old, for good."""
    charm = running(machine, ReadFileFirstCharm)
    state = deploy_by_hand(charm)
    machine.systemctl.failing.add("stop")

    with pytest.raises(testing.errors.UncaughtCharmError):
        charm.run(charm.ctx.on.config_changed(), with_mode(state, "production"))
    machine.systemctl.failing.clear()
    charm.run(charm.ctx.on.config_changed(), with_mode(state, "production"))

    assert charm.file(MODE_FILE).read_text() == "production\n"
    assert charm.blog.serving == "test", "the retry saw the file right and restarted nothing"


def test_this_charm_retries_a_failed_stop_until_the_blog_serves_the_new_mode(
    machine: MachineCharmRun,
):
    """Stopping before writing: a failed stop leaves the old file, so the retry does it all."""
    state = deploy(machine, "test")
    machine.systemctl.failing.add("stop")

    with pytest.raises(testing.errors.UncaughtCharmError):
        machine.run(machine.ctx.on.config_changed(), with_mode(state, "production"))
    machine.systemctl.failing.clear()
    machine.run(machine.ctx.on.config_changed(), with_mode(state, "production"))

    assert machine.blog.serving == "production"


def restart_container(k8s: K8sCharmRun, state: testing.State) -> testing.State:
    """The workload container restarts in the same pod: its filesystem and Pebble are new."""
    for location in (MODE_FILE, CODE_FILE):
        shutil.rmtree(k8s.file(location).parent)
    k8s.blog.stop()
    return dataclasses.replace(state, containers={k8s.container()})


@pytest.mark.parametrize(("design", "serving"), [(PebbleReadyOnceCharm, None), (None, "test")])
def test_pebble_ready_once_never_configures_a_restarted_container(
    k8s: K8sCharmRun, design: type[TemptingDesign] | None, serving: str | None
):
    """The flag is in the charm container, which a workload container restart leaves alone."""
    charm = running(k8s, design)
    state = restart_container(k8s, deploy(charm, "test"))

    state = charm.run(charm.ctx.on.pebble_ready(state.get_container("blog")), state)
    charm.run(charm.ctx.on.config_changed(), state)

    assert charm.blog.serving == serving


def test_can_connect_is_a_moment_ago_and_pebble_can_go_after_it(
    k8s: K8sCharmRun, monkeypatch: pytest.MonkeyPatch
):
    """Pebble answers the check and is gone for the calls after it: the hook fails.

    (Shown here by answering the check while the state says Pebble is away;
    ``tests/substrate/test_designs.py`` kills a real Pebble right after it.)
    """
    charm = running(k8s, CanConnectCharm)
    state = deploy(charm, "test")
    monkeypatch.setattr(ops.Container, "can_connect", lambda _self: True)

    with pytest.raises(testing.errors.UncaughtCharmError) as failed:
        charm.run(charm.ctx.on.config_changed(), connect(with_mode(state, "production"), False))

    assert isinstance(failed.value.__cause__, ops.pebble.ConnectionError)


def test_cached_config_serves_the_default_mode_after_a_reschedule_until_config_changed(
    k8s: K8sCharmRun,
):
    """The copy dies with the pod; upgrade-charm, first in the new pod, reads its default."""
    charm = running(k8s, CachedConfigCharm)
    deploy(charm, "production")
    k8s.wipe()
    new_pod = k8s.fresh("production")
    starts = k8s.starts

    new_pod = charm.run(charm.ctx.on.upgrade_charm(), new_pod)
    assert charm.blog.serving == "test", "the cache's default, not the config"
    charm.run(charm.ctx.on.config_changed(), new_pod)

    assert charm.blog.serving == "production"
    assert k8s.starts == starts + 2, "a start in the wrong mode, then the restart to the right one"


def away_during_a_change(charm: K8sCharmRun, state: testing.State) -> testing.State:
    """Pebble is unreachable while the mode changes to production."""
    return charm.run(charm.ctx.on.config_changed(), connect(with_mode(state, "production"), False))


def test_defer_runs_on_time_after_a_pebble_restart(k8s: K8sCharmRun):
    """The pebble-ready dispatch runs the deferred config-changed first: served at once."""
    charm = running(k8s, DeferCharm)
    state = away_during_a_change(charm, deploy(charm, "test"))
    assert len(state.deferred) == 1

    state = connect(state)
    state = charm.run(charm.ctx.on.pebble_ready(state.get_container("blog")), state)

    assert charm.blog.serving == "production"
    assert state.deferred == []


def test_defer_waits_for_the_next_event_after_a_brief_absence(k8s: K8sCharmRun):
    """Pebble comes back without restarting: no pebble-ready, so nothing until update-status."""
    charm = running(k8s, DeferCharm)
    state = connect(away_during_a_change(charm, deploy(charm, "test")))

    assert charm.blog.serving == "test", "late: until the next dispatch, 5 minutes by default"
    state = charm.run(charm.ctx.on.update_status(), state)

    assert charm.blog.serving == "production"


def test_a_deferral_goes_with_the_pod(k8s: K8sCharmRun):
    """The deferred event is local state: the new pod has none (Juju replays config-changed)."""
    charm = running(k8s, DeferCharm)
    state = away_during_a_change(charm, deploy(charm, "test"))
    assert state.deferred

    k8s.wipe()
    new_pod = charm.run(charm.ctx.on.upgrade_charm(), k8s.fresh("production"))

    assert new_pod.deferred == []
