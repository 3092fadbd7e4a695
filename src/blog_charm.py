"""The charm logic both variants share: which events reconcile, and what status to show.

A variant subclasses :class:`ExampleBlogCharm`, hands it its workload and adds
only the events that exist on its substrate (``remove`` on a machine,
``pebble-ready`` on Kubernetes).

The posts are the ``posts`` storage, which Juju keeps for the unit: the charm
asks the model in each hook whether it is attached (a directory at the
location proves nothing: on a machine it is there either way) and keeps
nothing about it. Production mode without it touches nothing and waits for it, saying so.
"""

from __future__ import annotations

import logging
import time
from typing import Final

import ops

import example_blog
import health
from blog_config import BlogConfig
from new_post import NewPost
from reconcile import Outcome, reconcile
from workload import PORT, POSTS_DIR, StartFailedError, Workload

logger = logging.getLogger(__name__)

WAITING_FOR_MANAGER = "waiting for the workload's service manager"
POSTS_STORAGE: Final = "posts"
NO_POSTS_STORAGE: Final = (
    f"production mode waits for the {POSTS_STORAGE} storage (see `juju storage`), or set mode=test"
)
# A blog its service manager calls running but that does not answer may be
# in the middle of a restart the manager made itself (Pebble reports a
# service active while it starts it). A hook waits this long for it to
# answer, or to stop running, so that it ends on what really happened.
SETTLE_SECONDS: Final = 10.0
SETTLE_POLL_SECONDS: Final = 0.2


def reconcile_serving(workload: Workload, mode: str) -> tuple[Outcome, health.Health | None]:
    """The reconcile, then the running blog's own word on what it serves.

    The files can be right and the process wrong: a mode file edited by hand
    to the other mode, then the option set to it, leaves a blog that started
    from the old file. Its ``/health`` says which mode it read, so it is
    restarted then. A blog whose service manager stopped it, or restarts it
    in a loop of its own, is started once, as any stopped blog. Returns what
    was done, and the blog's answer when nothing was (collect-status then
    needs no read of its own).
    """
    outcome = reconcile(workload, mode)
    if outcome not in (Outcome.UNCHANGED, Outcome.REPAIRED):
        return outcome, None
    answer = settled_answer(workload)
    if answer is not None and answer.mode != mode:
        logger.info("ExampleBlog serves %r, not %r: restarting it", answer.mode, mode)
        workload.stop()
        reconcile(workload, mode)
        return Outcome.RESTARTED, None
    if answer is None and not workload.is_running():
        return reconcile(workload, mode), None
    return outcome, answer


def settled_answer(workload: Workload) -> health.Health | None:
    """The blog's answer; None once it stops running, or after ``SETTLE_SECONDS`` of silence.

    Costs one ``/health`` read when the blog answers, which is nearly always.
    """
    deadline = time.monotonic() + SETTLE_SECONDS
    while (answer := health.read(PORT)) is None:
        if not workload.is_running() or time.monotonic() >= deadline:
            return None
        time.sleep(SETTLE_POLL_SECONDS)
    return answer


class ExampleBlogCharm(ops.CharmBase):
    """Runs ExampleBlog in the configured mode, restarting it only on a real change."""

    def __init__(self, framework: ops.Framework, workload: Workload):
        super().__init__(framework)
        self.workload = workload
        # What a reconcile in *this* hook found; never stored between hooks.
        self._unreachable: Exception | None = None
        self._start_failure: StartFailedError | None = None
        # The blog's answer to this hook's reconcile, when it read one: collect-status
        # then needs no request of its own (None: it did not answer in time).
        self._answer: health.Health | None = None
        self._settle_read = False
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
            # Before install on a deploy; after upgrade-charm on a refresh that adds it.
            self.on[POSTS_STORAGE].storage_attached,
        ):
            framework.observe(event, self.reconcile)
        framework.observe(self.on.add_post_action, self._on_add_post)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)

    def _posts_missing(self, mode: str) -> bool:
        """Whether the mode needs the posts storage and the model has none attached."""
        return mode == "production" and not self.model.storages[POSTS_STORAGE]

    def _on_install(self, event: ops.InstallEvent) -> None:
        # Shown while the hook runs; collect-status replaces it at the end.
        self.unit.status = ops.MaintenanceStatus("installing ExampleBlog")
        self.reconcile(event)  # pragma: no mutate (the reconcile reads nothing from it)

    def reconcile(self, _: ops.EventBase) -> None:
        """Make the workload match the config; a no-op when it already does."""
        try:
            config = self.load_config(BlogConfig)
        except ValueError:
            return  # collect-status shows why; nothing is touched until the config is fixed
        if self._posts_missing(config.mode):
            return  # collect-status says what to do; a running blog is left as it is
        try:
            outcome, self._answer = reconcile_serving(self.workload, config.mode)
            self._settle_read = outcome in (Outcome.UNCHANGED, Outcome.REPAIRED)
        except self.workload.unreachable_errors as e:
            # Not deferred: the service manager is unreachable only while the
            # workload container is (re)starting, and Juju emits pebble-ready
            # once it is back, which runs this same reconcile. A deferred copy
            # would only run again on some unrelated later event. Nothing is
            # half-done either way (see the reconcile module).
            logger.info("workload unreachable, waiting for it to come back: %s", e)
            self._unreachable = e
            return
        except StartFailedError as e:
            # Not a hook failure: Juju would only retry the same start in a
            # loop. The service stays stopped, the status says why, and the
            # next hook (update-status at the latest) tries once more.
            logger.warning("ExampleBlog did not start: %s", e)
            self._start_failure = e
            return
        if outcome is not Outcome.UNCHANGED:
            # Each of these is a hook tool call, so a hook that changed nothing
            # calls none of them, not even the log.
            logger.info("reconciled mode %r: service %s", config.mode, outcome.value)
        if outcome in (Outcome.STARTED, Outcome.RESTARTED):
            # Juju keeps the ports and the version, which change only with a
            # start (new code is a restart).
            self.unit.set_ports(PORT)
            self.unit.set_workload_version(example_blog.VERSION)

    def _on_add_post(self, event: ops.ActionEvent) -> None:
        """Write one post into the posts storage, never over another one."""
        if not self.model.storages[POSTS_STORAGE]:
            event.fail(f"no {POSTS_STORAGE} storage is attached to this unit: nothing was written")
            return
        try:
            post = event.load_params(NewPost)
        except ValueError as e:
            event.fail(f"{e}: nothing was written")
            return
        location = f"{POSTS_DIR}/{post.file_name}"
        try:
            self.workload.create_file(location, post.text)
        except FileExistsError:
            event.fail(f"a post named {post.file_name} exists: choose another title")
            return
        except self.workload.unreachable_errors as e:
            event.fail(f"the workload cannot be reached, try again: {e}")
            return
        event.set_results({"file": location})

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        try:
            config = self.load_config(BlogConfig)
        except ValueError as e:
            event.add_status(ops.BlockedStatus(str(e)))
            return
        if self._posts_missing(config.mode):
            # Juju attaches a required storage itself (on a deploy before
            # install, on a refresh that adds it just after); it is missing
            # only meanwhile, or while the unit is torn down.
            event.add_status(ops.WaitingStatus(NO_POSTS_STORAGE))
            return
        event.add_status(self._workload_status(config.mode))

    def _workload_status(self, mode: str) -> ops.StatusBase:
        """Active only on the blog's own word; the service manager explains its silence.

        What this hook's reconcile met comes first: a start that failed (the
        reason, and where to read more) or a service manager out of reach.
        Otherwise the blog's ``/health`` decides, and only when it does not
        answer is the service manager asked whether the service runs at all.
        """
        if self._start_failure is not None:
            return ops.BlockedStatus(
                f"ExampleBlog cannot serve: {self._start_failure} "
                f"(see `{self.workload.log_command}`)"
            )
        if self._unreachable is not None:
            return ops.WaitingStatus(WAITING_FOR_MANAGER)
        answer = self._answer if self._settle_read else health.read(PORT)
        if answer is not None:
            if answer.mode == mode:
                return ops.ActiveStatus(f"serving in {mode} mode")
            return ops.MaintenanceStatus(f"ExampleBlog still serves {answer.mode} mode")
        try:
            running = self.workload.is_running()
        except self.workload.unreachable_errors:
            return ops.WaitingStatus(WAITING_FOR_MANAGER)
        if running:
            return ops.MaintenanceStatus("ExampleBlog is running but not answering yet")
        return ops.MaintenanceStatus("ExampleBlog is not running")
