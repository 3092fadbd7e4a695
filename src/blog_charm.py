"""The charm logic both variants share: which events reconcile, and what status to show.

A variant subclasses :class:`ExampleBlogCharm`, hands it its workload and adds
only the events that exist on its substrate (``remove`` on a machine,
``pebble-ready`` on Kubernetes).
"""

from __future__ import annotations

import logging

import ops

import example_blog
from blog_config import BlogConfig
from reconcile import reconcile
from workload import PORT, Workload

logger = logging.getLogger(__name__)


class ExampleBlogCharm(ops.CharmBase):
    """Runs ExampleBlog in the configured mode, restarting it only on a real change."""

    def __init__(self, framework: ops.Framework, workload: Workload):
        super().__init__(framework)
        self.workload = workload
        # What a reconcile in *this* hook found; never stored between hooks.
        self._reconciled = False
        self._unreachable: Exception | None = None
        framework.observe(self.on.install, self._on_install)
        # Every event after which the workload may differ from the config. The
        # reconcile is cheap when nothing differs, so running it on upgrade
        # (a pod reschedule starts with one) and on update-status (which
        # repairs hand edits) costs a few reads.
        for event in (
            self.on.config_changed,
            self.on.start,
            self.on.upgrade_charm,
            self.on.update_status,
        ):
            framework.observe(event, self.reconcile)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)

    def _on_install(self, event: ops.InstallEvent) -> None:
        # Shown while the hook runs; collect-status replaces it at the end.
        self.unit.status = ops.MaintenanceStatus("installing ExampleBlog")
        self.reconcile(event)

    def reconcile(self, _: ops.EventBase) -> None:
        """Make the workload match the config; a no-op when it already does."""
        try:
            config = self.load_config(BlogConfig)
        except ValueError:
            return  # collect-status shows why; nothing is touched until the config is fixed
        try:
            outcome = reconcile(self.workload, config.mode)
        except self.workload.unreachable_errors as e:
            # Not deferred: the service manager is unreachable only while the
            # workload container is (re)starting, and Juju emits pebble-ready
            # once it is back, which runs this same reconcile. A deferred copy
            # would only run again on some unrelated later event. Nothing is
            # half-done either way (see the reconcile module).
            logger.info("workload unreachable, waiting for it to come back: %s", e)
            self._unreachable = e
            return
        logger.info("reconciled mode %r: service %s", config.mode, outcome.value)
        self._reconciled = True
        self.unit.set_ports(PORT)
        self.unit.set_workload_version(example_blog.VERSION)

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        try:
            config = self.load_config(BlogConfig)
        except ValueError as e:
            event.add_status(ops.BlockedStatus(str(e)))
            return
        running = self._running()
        if running is None:
            event.add_status(ops.WaitingStatus("waiting for the workload's service manager"))
        elif not running:
            event.add_status(ops.MaintenanceStatus("ExampleBlog is not running yet"))
        else:
            event.add_status(ops.ActiveStatus(f"serving in {config.mode} mode"))

    def _running(self) -> bool | None:
        """Whether the service runs, or None when its manager cannot be reached.

        A reconcile in this hook has just answered that, so only hooks without
        one (or where it could not reach the workload) ask again.
        """
        if self._unreachable:
            return None
        if self._reconciled:
            return True  # it completed, and it always leaves the service running
        try:
            return self.workload.is_running()
        except self.workload.unreachable_errors:
            return None
