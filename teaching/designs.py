"""Two tempting designs for this charm, kept only to show how they fail. Never packed.

The shipped charms keep no state (``docs/stateless-reconcile.md``): the mode
lives in the config, in the mode file and in the running blog, and the
reconcile reads all three on every event and acts on the difference. The two
designs here are what a charm author is tempted to write instead. Both run on
the shipped workload seam (``SystemdWorkload``, ``PebbleWorkload``) and write
the same files, so the only difference from the stateless reconcile is
*when* they decide to write and restart:

* :class:`AlwaysRestartCharm` writes everything and restarts the blog on every
  ``config-changed``. Simple, and a restart, with a moment in which the blog
  does not answer, for every repeated config, every refresh and, on a
  machine, every reboot (Juju follows a refresh, and usually a reboot, with
  ``config-changed``).
* :class:`StoredStateCharm` remembers "the mode I wrote" in ``StoredState``
  and acts only when the config differs from that memory. The memory is a
  fourth copy of the mode, and the one nothing reads back: after a pod
  reschedule the workload's filesystem is fresh, while the memory holds its
  default (lost with the charm container) or the old value (kept by the
  controller with ``use_juju_for_storage=True``). When it equals the config,
  nothing writes the mode file, and the blog cannot start.

``teaching/tests/test_designs.py`` shows each failure next to the shipped
charm passing the same steps, ``tests/substrate/test_designs.py`` shows them
on the real systemd and Pebble, and ``python -m teaching.bench`` counts the
restarts of all three over a long run of events.
"""

from __future__ import annotations

from collections.abc import Callable

import ops

from blog_config import BlogConfig
from workload import CODE_FILE, MODE_FILE, ManagedFile, Workload, blog_code

# What the config holds before the operator sets it; the StoredState design's memory starts here.
DEFAULT_MODE = BlogConfig().mode


def write_code_and_service(workload: Workload) -> None:
    """Write the blog's code and its service definition: what any design needs before a start."""
    ManagedFile(workload, CODE_FILE, blog_code()).apply()
    workload.service_definition().apply()


def write_mode(workload: Workload, mode: str) -> None:
    """Write the mode file the blog reads when it next starts."""
    ManagedFile(workload, MODE_FILE, f"{mode}\n").apply()


class TemptingDesign(ops.CharmBase):
    """A charm on the shipped seam that decides by the event, not by what it reads, when to act.

    Each design starts the blog on ``start`` (and, on Kubernetes, on
    ``pebble-ready``, the first moment Pebble answers) if it does not run.
    Like the shipped charms, a design waits while its service manager is
    unreachable instead of failing the hook.
    """

    def __init__(self, framework: ops.Framework, workload: Workload):
        super().__init__(framework)
        self.workload = workload
        framework.observe(self.on.start, self._on_start)

    def _on_start(self, _: ops.EventBase) -> None:
        self.done(self.start_unless_running)

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
    """On every ``config-changed``: write everything, then restart the blog, needed or not."""

    def __init__(self, framework: ops.Framework, workload: Workload):
        super().__init__(framework, workload)
        framework.observe(self.on.install, self._configure)
        framework.observe(self.on.config_changed, self._configure)

    def _configure(self, _: ops.EventBase) -> None:
        mode = self.load_config(BlogConfig, errors="blocked").mode
        if self.done(lambda: self.rewrite_and_restart(mode)):
            self.unit.status = ops.ActiveStatus(f"serving in {mode} mode")

    def rewrite_and_restart(self, mode: str) -> None:
        """Write every file, whatever it holds, and (re)start the blog on them."""
        write_code_and_service(self.workload)
        write_mode(self.workload, mode)
        if self.workload.is_running():
            self.workload.stop()
        self.workload.start()


class StoredStateCharm(TemptingDesign):
    """Write the mode, and restart, only when the config differs from the mode remembered."""

    _stored = ops.StoredState()

    def __init__(self, framework: ops.Framework, workload: Workload):
        super().__init__(framework, workload)
        # Install writes the default mode, so the memory starts there.
        self._stored.set_default(mode=DEFAULT_MODE)
        framework.observe(self.on.install, self._on_install)
        framework.observe(self.on.config_changed, self._on_config_changed)

    def _on_install(self, _: ops.EventBase) -> None:
        self.done(lambda: write_mode(self.workload, DEFAULT_MODE))

    def _on_config_changed(self, _: ops.EventBase) -> None:
        mode = self.load_config(BlogConfig, errors="blocked").mode
        if mode == self._stored.mode:
            return  # "already written", though the file may be gone by now: the flaw
        if self.done(lambda: self.write_and_restart_if_running(mode)):
            self._stored.mode = mode

    def write_and_restart_if_running(self, mode: str) -> None:
        """Write the mode file, then restart the blog if it runs, so that it reads it."""
        write_mode(self.workload, mode)
        if self.workload.is_running():
            self.workload.stop()
            self.workload.start()

    def _on_start(self, _: ops.EventBase) -> None:
        written = self.done(lambda: write_code_and_service(self.workload))
        if written and self.done(self.start_unless_running):
            self.unit.status = ops.ActiveStatus(f"serving in {self._stored.mode} mode")


def machine_charm(design: type[TemptingDesign]) -> type[ops.CharmBase]:
    """The design as a machine charm, on the shipped systemd seam."""
    from systemd_workload import SystemdWorkload  # only the machine charm has it

    class MachineCharm(design):
        def __init__(self, framework: ops.Framework):
            super().__init__(framework, SystemdWorkload())

    return MachineCharm


def k8s_charm(design: type[TemptingDesign]) -> type[ops.CharmBase]:
    """The design as a Kubernetes charm, on the shipped Pebble seam; pebble-ready acts as start."""
    from pebble_workload import CONTAINER_NAME, PebbleWorkload  # only the k8s charm has it

    class K8sCharm(design):
        def __init__(self, framework: ops.Framework):
            container = framework.model.unit.get_container(CONTAINER_NAME)
            super().__init__(framework, PebbleWorkload(container))
            framework.observe(self.on[CONTAINER_NAME].pebble_ready, self._on_start)

    return K8sCharm


# By the names the substrate tier and the bench use.
DESIGNS: dict[str, type[TemptingDesign]] = {
    "always-restart": AlwaysRestartCharm,
    "stored-state": StoredStateCharm,
}


def main(variant: str, design: str, storage: str = "local") -> None:
    """Dispatch the current hook to ``design`` as a ``variant`` charm, as ``src/charm.py`` does.

    With ``storage`` "juju" the charm's memory is kept by the controller
    (``use_juju_for_storage=True``); with "local", in the charm's directory,
    which a pod reschedule loses.
    """
    as_charm = machine_charm if variant == "machine" else k8s_charm
    ops.main(as_charm(DESIGNS[design]), use_juju_for_storage=storage == "juju")


if __name__ == "__main__":
    import sys

    main(*sys.argv[1:])
