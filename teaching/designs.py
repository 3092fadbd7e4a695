"""Two tempting designs for this charm, written here only to show how they fail. Never shipped.

Both use the shipped charms' own seam (``SystemdWorkload``, ``PebbleWorkload``)
and files, so the only difference from the stateless reconcile is *when* they
decide to write and restart:

* :class:`AlwaysRestartCharm` writes everything and restarts the blog on every
  ``config-changed``: simple, and a restart for every repeated config, every
  refresh and every reboot.
* :class:`StoredStateCharm` remembers "the mode I wrote" in ``StoredState``
  and acts only when the config differs from that memory. The memory is a
  fourth copy of the truth: after a pod reschedule the workload's filesystem
  is fresh, while the memory is either its default (lost with the charm
  container) or the old value (kept by the controller with
  ``use_juju_for_storage=True``); when it equals the config, nothing writes
  the mode file, and the blog cannot start.
"""

from __future__ import annotations

import ops

from blog_config import BlogConfig
from workload import CODE_FILE, MODE_FILE, ManagedFile, Workload, blog_code

DEFAULT_MODE = BlogConfig().mode


def _code_and_definition(workload: Workload) -> None:
    """Write the service code and definition, as every design must."""
    ManagedFile(workload.path(CODE_FILE), blog_code()).apply()
    workload.service_definition().apply()


def _write_mode(workload: Workload, mode: str) -> None:
    ManagedFile(workload.path(MODE_FILE), f"{mode}\n").apply()


class Design(ops.CharmBase):
    """What both designs share: a workload, and a handler for start (and pebble-ready)."""

    def __init__(self, framework: ops.Framework, workload: Workload):
        super().__init__(framework)
        self.workload = workload
        framework.observe(self.on.start, self._on_start)

    def _on_start(self, _: ops.EventBase) -> None:
        raise NotImplementedError


class AlwaysRestartCharm(Design):
    """Configure-and-restart on every config-changed; start on start and pebble-ready."""

    def __init__(self, framework: ops.Framework, workload: Workload):
        super().__init__(framework, workload)
        framework.observe(self.on.install, self._configure)
        framework.observe(self.on.config_changed, self._configure)

    def _configure(self, _: ops.EventBase) -> None:
        mode = self.load_config(BlogConfig, errors="blocked").mode
        try:
            _code_and_definition(self.workload)
            _write_mode(self.workload, mode)
            if self.workload.is_running():
                self.workload.stop()
            self.workload.start()
        except self.workload.unreachable_errors:
            return
        self.unit.status = ops.ActiveStatus(f"serving in {mode} mode")

    def _on_start(self, _: ops.EventBase) -> None:
        try:
            if not self.workload.is_running():
                self.workload.start()
        except self.workload.unreachable_errors:
            return


class StoredStateCharm(Design):
    """Act only when the config differs from the mode remembered as written."""

    _stored = ops.StoredState()

    def __init__(self, framework: ops.Framework, workload: Workload):
        super().__init__(framework, workload)
        # Install writes the default mode, so the memory starts there.
        self._stored.set_default(mode=DEFAULT_MODE)
        framework.observe(self.on.install, self._install)
        framework.observe(self.on.config_changed, self._on_config_changed)

    def _install(self, _: ops.EventBase) -> None:
        try:
            _write_mode(self.workload, DEFAULT_MODE)
        except self.workload.unreachable_errors:
            return

    def _on_config_changed(self, _: ops.EventBase) -> None:
        mode = self.load_config(BlogConfig, errors="blocked").mode
        if mode == self._stored.mode:
            return  # "already written"
        try:
            _write_mode(self.workload, mode)
            if self.workload.is_running():
                self.workload.stop()
                self.workload.start()
        except self.workload.unreachable_errors:
            return
        self._stored.mode = mode

    def _on_start(self, _: ops.EventBase) -> None:
        try:
            _code_and_definition(self.workload)
            if not self.workload.is_running():
                self.workload.start()
        except self.workload.unreachable_errors:
            return
        self.unit.status = ops.ActiveStatus(f"serving in {self._stored.mode} mode")


def machine(design: type[Design]) -> type[ops.CharmBase]:
    """The design as a machine charm, on the shipped systemd seam."""
    from systemd_workload import SystemdWorkload  # only the machine charm has it

    class MachineCharm(design):
        def __init__(self, framework: ops.Framework):
            super().__init__(framework, SystemdWorkload())

    return MachineCharm


def k8s(design: type[Design]) -> type[ops.CharmBase]:
    """The design as a Kubernetes charm, on the shipped Pebble seam; pebble-ready as start."""
    from pebble_workload import CONTAINER_NAME, PebbleWorkload  # only the k8s charm has it

    class K8sCharm(design):
        def __init__(self, framework: ops.Framework):
            container = framework.model.unit.get_container(CONTAINER_NAME)
            super().__init__(framework, PebbleWorkload(container))
            framework.observe(self.on[CONTAINER_NAME].pebble_ready, self._on_start)

    return K8sCharm


DESIGNS: dict[str, type[Design]] = {  # by the names the substrate tier uses
    "always-restart": AlwaysRestartCharm,
    "stored-state": StoredStateCharm,
}


def main(variant: str, design: str, storage: str = "local") -> None:
    """Dispatch the current hook to ``design`` as a ``variant`` charm, as ``src/charm.py`` does.

    ``storage`` "juju" keeps the charm's memory with the controller
    (``use_juju_for_storage=True``); "local" in the charm's directory.
    """
    wrap = machine if variant == "machine" else k8s
    ops.main(wrap(DESIGNS[design]), use_juju_for_storage=storage == "juju")


if __name__ == "__main__":
    import sys

    main(*sys.argv[1:])
