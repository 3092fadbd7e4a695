"""The designs the guidance discusses for this charm, kept to show how they fail. Never packed.

The shipped charms keep no state (``docs/stateless-reconcile.md``): the mode
lives in the config, in the mode file and in the running blog, and the
reconcile reads all three on every event and acts on the difference. Each
design here is one a charm author is tempted to write instead, numbered as in
that document's table. All run on the shipped workload seam
(``SystemdWorkload``, ``PebbleWorkload``) and write the same files, so each
differs from the shipped charm only in *what it decides from*:

1. :class:`AlwaysRestartCharm`: nothing; it rewrites and restarts on every
   ``config-changed``.
2. to 4. :class:`StoredStateCharm`: a memory of the mode it wrote, starting at
   the mode's default (2) or at a value no mode has (3,
   :class:`UnsetStoredStateCharm`), kept in the charm's directory or, with
   ``use_juju_for_storage=True``, by the controller (4).
5. :class:`ReadFileFirstCharm`: the mode file alone, read before it writes,
   and it writes before it restarts.
6. :class:`PebbleReadyOnceCharm`: a flag saying "configured", set at the
   first ``pebble-ready``.
7. :class:`CanConnectCharm`: the shipped reconcile behind a
   ``can_connect()`` check instead of catching the errors.
8. :class:`CachedConfigCharm`: the shipped reconcile, fed from a copy of the
   config taken at ``config-changed``.
9. :class:`DeferCharm`: the shipped reconcile, deferring the event when the
   service manager is away, instead of reconciling again on ``update-status``.

``teaching/tests/test_designs.py`` shows each failure next to the shipped
charm passing the same steps, ``tests/substrate/test_designs.py`` shows the
ones that need a real systemd or Pebble, and ``python -m teaching.bench``
runs them all through one scripted sequence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import ops

from blog_charm import reconcile_serving
from blog_config import BlogConfig
from workload import (
    CODE_FILE,
    MODE_FILE,
    Drift,
    ManagedFile,
    StartFailedError,
    Workload,
    blog_code,
)

# What the config holds before the operator sets it; design 2's memory starts here.
DEFAULT_MODE = BlogConfig().mode
# Design 3's first memory: no mode is called this, so the first config-changed always writes.
UNSET = "unset"
WAITING = "waiting for the workload's service manager"


def write_code_and_service(workload: Workload) -> None:
    """Write the blog's code and its service definition: what any design needs before a start."""
    ManagedFile(workload, CODE_FILE, blog_code()).apply()
    workload.service_definition().apply()


def mode_file(workload: Workload, mode: str) -> ManagedFile:
    """The mode file as it must be for ``mode``."""
    return ManagedFile(workload, MODE_FILE, f"{mode}\n")


def restart(workload: Workload) -> None:
    """Stop the blog if it runs, then start it, so that it reads its mode file again."""
    if workload.is_running():
        workload.stop()
    workload.start()


class TemptingDesign(ops.CharmBase):
    """A charm on the shipped seam that decides by what it remembers or by the event.

    Each design starts the blog on ``start`` and, on Kubernetes, on
    ``pebble-ready``, the first moment Pebble answers, if it does not run.
    Like the shipped charms, a design waits while its service manager is
    unreachable instead of failing the hook, unless that is its point.
    """

    def __init__(self, framework: ops.Framework, workload: Workload):
        super().__init__(framework)
        self.workload = workload
        framework.observe(self.on.start, self._on_start)

    def configured_mode(self) -> str:
        """The mode in the model's config."""
        return self.load_config(BlogConfig, errors="blocked").mode

    def _on_start(self, event: ops.EventBase) -> None:
        self.done(self.start_unless_running)

    def on_pebble_ready(self, event: ops.EventBase) -> None:
        """What the design does when Pebble comes up (Kubernetes only): what it does on start."""
        self._on_start(event)

    def done(self, action: Callable[[], None]) -> bool:
        """Run ``action``; False, and nothing more, if the service manager could not be reached."""
        try:
            action()
        except self.workload.unreachable_errors:
            return False
        return True

    def start_unless_running(self) -> None:
        """Start the blog if it is stopped."""
        if not self.workload.is_running():
            self.workload.start()


class AlwaysRestartCharm(TemptingDesign):
    """Design 1. On every ``config-changed``: write everything, then restart, needed or not."""

    def __init__(self, framework: ops.Framework, workload: Workload):
        super().__init__(framework, workload)
        framework.observe(self.on.install, self._configure)
        framework.observe(self.on.config_changed, self._configure)

    def _configure(self, _: ops.EventBase) -> None:
        mode = self.configured_mode()
        if self.done(lambda: self.rewrite_and_restart(mode)):
            self.unit.status = ops.ActiveStatus(f"serving in {mode} mode")

    def rewrite_and_restart(self, mode: str) -> None:
        """Write every file, whatever it holds, and (re)start the blog on them."""
        write_code_and_service(self.workload)
        mode_file(self.workload, mode).apply()
        restart(self.workload)


class StoredStateCharm(TemptingDesign):
    """Designs 2 to 4. Write the mode, and restart, only when the config differs from memory.

    ``initial_memory`` is what the memory holds before the first write; where
    the memory lives (the charm's directory, or the controller) is the
    ``use_juju_for_storage`` of :func:`main`. Nothing else differs between
    the three designs.
    """

    _stored = ops.StoredState()
    # Design 2: install wrote the default mode, so the memory starts there.
    initial_memory: ClassVar[str] = DEFAULT_MODE

    def __init__(self, framework: ops.Framework, workload: Workload):
        super().__init__(framework, workload)
        self._stored.set_default(mode=self.initial_memory)
        framework.observe(self.on.install, self._on_install)
        framework.observe(self.on.config_changed, self._on_config_changed)

    def _on_install(self, _: ops.EventBase) -> None:
        # What a package install would leave: the default mode in the file.
        self.done(lambda: mode_file(self.workload, DEFAULT_MODE).apply())

    def _on_config_changed(self, _: ops.EventBase) -> None:
        mode = self.configured_mode()
        if mode == self._stored.mode:
            return  # "already written", though the file may be gone or edited by now: the flaw
        if self.done(lambda: self.write_and_restart_if_running(mode)):
            self._stored.mode = mode

    def write_and_restart_if_running(self, mode: str) -> None:
        """Write the mode file, then restart the blog if it runs, so that it reads it."""
        mode_file(self.workload, mode).apply()
        if self.workload.is_running():
            restart(self.workload)

    def _on_start(self, event: ops.EventBase) -> None:
        written = self.done(lambda: write_code_and_service(self.workload))
        if written and self.done(self.start_unless_running):
            self.unit.status = ops.ActiveStatus(f"serving in {self.configured_mode()} mode")


class UnsetStoredStateCharm(StoredStateCharm):
    """Design 3. Design 2 with a first memory that matches no mode, so a lost memory rewrites."""

    initial_memory = UNSET


class ReadFileFirstCharm(TemptingDesign):
    """Design 5. Read the mode file; if it differs from the config, write it, then restart.

    Stateless, as the shipped charm is, but it reads one input of three, a
    missing file is an error rather than a difference, and the write comes
    before the restart.
    """

    def __init__(self, framework: ops.Framework, workload: Workload):
        super().__init__(framework, workload)
        framework.observe(self.on.install, self._on_install)
        framework.observe(self.on.config_changed, self._on_config_changed)

    def _on_install(self, _: ops.EventBase) -> None:
        self.done(lambda: write_code_and_service(self.workload))

    def _on_config_changed(self, _: ops.EventBase) -> None:
        mode = self.configured_mode()
        self.done(lambda: self.write_then_restart(mode))

    def write_then_restart(self, mode: str) -> None:
        """Nothing when the file holds ``mode``; else the new file, then a restart on it."""
        if self.workload.path(MODE_FILE).read_text().strip() == mode:
            return
        mode_file(self.workload, mode).apply()
        restart(self.workload)


class PebbleReadyOnceCharm(TemptingDesign):
    """Design 6 (Kubernetes). Configure the container at the first ``pebble-ready``, then never.

    A flag in ``StoredState`` records that it did. ``config-changed`` after
    that writes a mode that differs and restarts the blog if it runs.
    """

    _stored = ops.StoredState()

    def __init__(self, framework: ops.Framework, workload: Workload):
        super().__init__(framework, workload)
        self._stored.set_default(configured=False)
        framework.observe(self.on.config_changed, self._on_config_changed)

    def _on_start(self, event: ops.EventBase) -> None:
        """Nothing: the container is configured at ``pebble-ready``."""

    def on_pebble_ready(self, event: ops.EventBase) -> None:
        """Configure and start, unless the flag says it was done."""
        if self._stored.configured:
            return  # the flag outlives the container it describes: the flaw
        mode = self.configured_mode()
        if self.done(lambda: self.configure(mode)):
            self._stored.configured = True

    def configure(self, mode: str) -> None:
        """Write every file and the layer, and start the blog on them."""
        write_code_and_service(self.workload)
        mode_file(self.workload, mode).apply()
        self.workload.start()

    def _on_config_changed(self, _: ops.EventBase) -> None:
        if not self._stored.configured:
            return
        wanted = mode_file(self.workload, self.configured_mode())
        self.done(lambda: self.rewrite_if_changed(wanted))

    def rewrite_if_changed(self, wanted: ManagedFile) -> None:
        """Write the mode file if it differs, and restart the blog on it if it runs."""
        if wanted.drift() is Drift.CONTENT:
            wanted.apply()
            if self.workload.is_running():
                restart(self.workload)


class ReconcilingDesign(TemptingDesign):
    """The shipped reconcile, on the events a design names, with the mode it chooses.

    What the shipped charm does with a blog that cannot start (say so, try
    again next hook) is kept, so that each design differs from it in one
    thing only.
    """

    def __init__(self, framework: ops.Framework, workload: Workload):
        super().__init__(framework, workload)
        for event in self.reconciling_events():
            framework.observe(event, self.on_event)

    def reconciling_events(self) -> list[ops.BoundEvent]:
        """The events that reconcile (besides start and pebble-ready)."""
        on = self.on
        return [on.install, on.config_changed, on.upgrade_charm, on.update_status]

    def _on_start(self, event: ops.EventBase) -> None:
        self.on_event(event)

    def mode(self, event: ops.EventBase) -> str:
        """The mode to reconcile to: the config's."""
        return self.configured_mode()

    def on_event(self, event: ops.EventBase) -> None:
        """Reconcile; while the service manager is away, :meth:`unreachable` decides."""
        try:
            self.reconcile_or_block(self.mode(event))
        except self.workload.unreachable_errors:
            self.unreachable(event)

    def reconcile_or_block(self, mode: str) -> None:
        """Reconcile to ``mode``; a blog that does not start is Blocked, not a hook error."""
        try:
            reconcile_serving(self.workload, mode)
        except StartFailedError as e:
            self.unit.status = ops.BlockedStatus(f"ExampleBlog cannot serve: {e}")
            return
        self.unit.status = ops.ActiveStatus(f"serving in {mode} mode")

    def unreachable(self, event: ops.EventBase) -> None:
        """As the shipped charm: wait for pebble-ready or the next update-status."""
        self.unit.status = ops.WaitingStatus(WAITING)


class CanConnectCharm(ReconcilingDesign):
    """Design 7 (Kubernetes). Ask ``can_connect()`` first, then call Pebble unguarded."""

    def on_event(self, event: ops.EventBase) -> None:
        """Reconcile if Pebble answered the check; an error after it fails the hook."""
        [container] = self.unit.containers.values()
        if not container.can_connect():
            self.unreachable(event)
            return
        self.reconcile_or_block(self.mode(event))  # Pebble may be gone by now: the flaw


class CachedConfigCharm(ReconcilingDesign):
    """Design 8. Copy the mode into ``StoredState`` at ``config-changed``; read the copy after."""

    _stored = ops.StoredState()

    def __init__(self, framework: ops.Framework, workload: Workload):
        super().__init__(framework, workload)
        self._stored.set_default(mode=DEFAULT_MODE)

    def mode(self, event: ops.EventBase) -> str:
        """The config's mode at config-changed, remembered; the remembered one otherwise."""
        if isinstance(event, ops.ConfigChangedEvent):
            self._stored.mode = self.configured_mode()
        return self._stored.mode


class DeferCharm(ReconcilingDesign):
    """Design 9. Defer the event while the service manager is away; no ``update-status``.

    ops runs deferred events again at the start of the next dispatch, so the
    deferral stands in for the shipped charm's reconcile on update-status.
    """

    def reconciling_events(self) -> list[ops.BoundEvent]:
        """The shipped charm's events but update-status: the deferral is the retry."""
        on = self.on
        return [on.install, on.config_changed, on.upgrade_charm]

    def unreachable(self, event: ops.EventBase) -> None:
        """Leave the event for the next dispatch."""
        self.unit.status = ops.WaitingStatus(WAITING)
        event.defer()


def machine_charm(design: type[TemptingDesign]) -> type[ops.CharmBase]:
    """The design as a machine charm, on the shipped systemd seam."""
    from systemd_workload import SystemdWorkload  # only the machine charm has it

    class MachineCharm(design):
        def __init__(self, framework: ops.Framework):
            super().__init__(framework, SystemdWorkload())

    return MachineCharm


def k8s_charm(design: type[TemptingDesign]) -> type[ops.CharmBase]:
    """The design as a Kubernetes charm, on the shipped Pebble seam."""
    from pebble_workload import CONTAINER_NAME, PebbleWorkload  # only the k8s charm has it

    class K8sCharm(design):
        def __init__(self, framework: ops.Framework):
            container = framework.model.unit.get_container(CONTAINER_NAME)
            super().__init__(framework, PebbleWorkload(container))
            framework.observe(self.on[CONTAINER_NAME].pebble_ready, self.on_pebble_ready)

    return K8sCharm


@dataclass(frozen=True)
class Design:
    """One design: its number in the docs' table, its charm, where its memory lives."""

    number: int
    charm: type[TemptingDesign]
    # Whether the controller keeps the charm's memory (use_juju_for_storage=True).
    juju_storage: bool = False
    # The variants it applies to: designs 6 and 7 are about Pebble.
    variants: tuple[str, ...] = ("machine", "k8s")


# By the names the substrate tier and the bench use.
DESIGNS: dict[str, Design] = {
    "always-restart": Design(1, AlwaysRestartCharm),
    "stored-state": Design(2, StoredStateCharm),
    "stored-unset": Design(3, UnsetStoredStateCharm),
    "stored-unset-juju": Design(3, UnsetStoredStateCharm, juju_storage=True),
    "stored-juju": Design(4, StoredStateCharm, juju_storage=True),
    "read-file-first": Design(5, ReadFileFirstCharm),
    "pebble-ready-once": Design(6, PebbleReadyOnceCharm, variants=("k8s",)),
    "can-connect": Design(7, CanConnectCharm, variants=("k8s",)),
    "cached-config": Design(8, CachedConfigCharm),
    "defer": Design(9, DeferCharm),
}


def charm_for(variant: str, name: str) -> type[ops.CharmBase]:
    """The design called ``name`` as a ``variant`` charm."""
    as_charm = machine_charm if variant == "machine" else k8s_charm
    return as_charm(DESIGNS[name].charm)


def main(variant: str, name: str) -> None:
    """Dispatch the current hook to design ``name`` as a ``variant`` charm, as ``src/charm.py``.

    A design whose memory the controller keeps runs with
    ``use_juju_for_storage=True``; the others keep it in the charm's
    directory, which a pod reschedule loses.
    """
    ops.main(charm_for(variant, name), use_juju_for_storage=DESIGNS[name].juju_storage)


if __name__ == "__main__":
    import sys

    main(*sys.argv[1:])
