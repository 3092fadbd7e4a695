"""The ``Workload`` seam in memory, and the shared charm run on it.

Most of what the charms promise is decided by code both share
(``blog_charm``, ``reconcile``, ``workload``) and reaches a service manager
only through the seam of ``src/workload.py``. Those promises are tested once,
on :class:`FakeWorkload`, rather than once per variant through faked
``systemctl`` command lines and Pebble calls. ``test_workload_contract.py``
holds the fake and both shipped workloads to the same contract, and each
variant's own tests prove its adapter and entrypoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import ops
import pytest
from charmlibs.pathops import LocalPath
from systemd_workload import LocalFiles

from blog_charm import ExampleBlogCharm
from tests.support.charm_run import CharmRun, FakeBlog, context, fake_blog
from workload import COMMAND, SERVICE_NAME, Drift, StartFailedError

# What the fake service manager knows the service as, once its definition is applied.
SERVICE = f"{SERVICE_NAME}: {COMMAND}"


class ServiceManagerAwayError(Exception):
    """The fake's service manager cannot be reached (as Pebble while its container restarts)."""


@dataclass
class FakeWorkload(LocalFiles):
    """A ``Workload`` whose service manager is a few fields in front of the fake blog.

    The files are real, under ``root``, as ``LocalPath`` (the machine's
    paths), so ``ManagedFile`` reads, writes and checks them as it does in
    production. The service manager is the shipped ones reduced to their
    contract: it knows the service only once its definition is applied, a
    start the blog does not survive raises ``StartFailedError`` with the
    blog's reason and leaves it stopped, and while ``reachable`` is False
    every call raises :class:`ServiceManagerAwayError`, its one unreachable
    error. ``calls`` holds every start and stop it was handed, in order.
    """

    root: Path
    blog: FakeBlog
    reachable: bool = True
    defined: str | None = None
    calls: list[str] = field(default_factory=list)
    unreachable_errors: tuple[type[Exception], ...] = (ServiceManagerAwayError,)
    log_command: str = f"fake-service-manager logs {SERVICE_NAME}"

    def answer(self) -> None:
        """Raise while the service manager is away; its files are behind it too."""
        if not self.reachable:
            raise ServiceManagerAwayError("the service manager is away")

    def path(self, location: str) -> LocalPath:
        """The file at ``location`` under the root."""
        self.answer()
        return LocalPath(self.root, location.lstrip("/"))

    def service_definition(self) -> FakeServiceDefinition:
        """The service as the fake service manager should know it."""
        return FakeServiceDefinition(self)

    def is_running(self) -> bool:
        """Whether the blog runs."""
        self.answer()
        return self.blog.serving is not None

    def start(self) -> None:
        """Start the blog unless it runs; it reads its mode file as it starts."""
        self.answer()
        if self.defined is None:
            raise LookupError(f"no service {SERVICE_NAME} is defined")
        self.calls.append("start")
        if self.blog.serving is None and (failure := self.blog.start()):
            raise StartFailedError(failure[1])

    def stop(self) -> None:
        """Stop the blog."""
        self.answer()
        self.calls.append("stop")
        self.blog.stop()

    def forget(self) -> None:
        """A new unit's service manager: reachable, and knowing nothing of the service."""
        self.defined = None
        self.reachable = True

    @property
    def starts(self) -> int:
        """Starts handed to it."""
        return self.calls.count("start")

    @property
    def stops(self) -> int:
        """Stops handed to it."""
        return self.calls.count("stop")


@dataclass(frozen=True)
class FakeServiceDefinition:
    """The service definition of a :class:`FakeWorkload`."""

    workload: FakeWorkload

    def drift(self) -> Drift:
        """Whether the service manager knows the service as it should."""
        self.workload.answer()
        return Drift.NONE if self.workload.defined == SERVICE else Drift.CONTENT

    def apply(self) -> None:
        """Tell the service manager the service as it should be."""
        self.workload.answer()
        self.workload.defined = SERVICE

    def repair(self) -> None:
        """A definition has no owner: its drift is never METADATA."""
        self.apply()


@dataclass
class SharedCharmRun(CharmRun):
    """The shared charm class, ``ExampleBlogCharm``, on a :class:`FakeWorkload`."""

    workload: FakeWorkload
    # The shared charm needs no container: the machine's metadata has none.
    variant = "machine"
    log_command = FakeWorkload.log_command

    def service_manager(self) -> FakeWorkload:
        """The fake workload, which is its own service manager."""
        return self.workload


def shared_charm_run(root: Path, monkeypatch: pytest.MonkeyPatch) -> SharedCharmRun:
    """The shared charm on a fake workload rooted at ``root``, its blog stopped and undefined."""
    blog = fake_blog(root, monkeypatch)
    fake = FakeWorkload(root, blog)

    class FakeWorkloadCharm(ExampleBlogCharm):
        def __init__(self, framework: ops.Framework):
            super().__init__(framework, fake)

    return SharedCharmRun(root, context(FakeWorkloadCharm, SharedCharmRun.variant), blog, fake)
