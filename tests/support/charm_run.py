"""A charm class run hook by hook by ops.testing, and the fake blog behind its service manager.

A :class:`CharmRun` is what a unit test drives: Juju is ops.testing, the
workload's files live under a temporary root, and behind whichever service
manager the run has stands one :class:`FakeBlog`. It reads its mode file when
it starts, as the real blog does, and answers the charm's ``/health`` request
while it serves. Starts and stops are counted where the charm hands them to
the service manager; nothing here reads charm internals.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self

import ops
import pytest
from ops import testing

import example_blog
import health
import workload
from tests.variants import action_definitions, config_options, metadata

PORT_TAKEN = f"cannot listen on port {workload.PORT}: Address already in use"


def with_mode(state: testing.State, mode: str) -> testing.State:
    """The same state with another value of the ``mode`` option."""
    return dataclasses.replace(state, config={"mode": mode})


@dataclass
class FakeBlog:
    """The blog process: the mode it read from its file when it last started, while it runs.

    Like the real blog it reads its mode file only when it starts, exits on a
    file that holds no valid mode, and cannot start while another process
    holds its port (``port_taken``). With ``crash_status`` it exits with that
    status and no reason of its own, as on an exception it does not expect.
    """

    mode_file: Path
    serving: str | None = None
    port_taken: bool = False
    crash_status: int | None = None

    def start(self) -> tuple[int, str] | None:
        """Start anew; the exit status and reason when it cannot serve, else None."""
        self.serving = None
        try:
            mode = example_blog.read_mode(self.mode_file)
        except example_blog.ModeError as e:
            return example_blog.EXIT_BAD_MODE, str(e)
        if self.port_taken:
            return example_blog.EXIT_CANNOT_LISTEN, PORT_TAKEN
        if self.crash_status is not None:
            return self.crash_status, ""
        self.serving = mode
        return None

    def stop(self) -> None:
        """The process ends."""
        self.serving = None

    def health(self, port: int, timeout: float = health.HEALTH_TIMEOUT) -> health.Health | None:
        """What ``health.read`` would get: an answer only while the blog serves."""
        assert port == workload.PORT
        assert 0 < timeout <= health.HEALTH_TIMEOUT
        return health.Health(self.serving, "fake") if self.serving else None


def fake_blog(root: Path, monkeypatch: pytest.MonkeyPatch) -> FakeBlog:
    """The blog of a workload rooted at ``root``, answering the charm's health reads.

    An unprivileged test run cannot give files to root, so there the files
    the charm writes are the running user's, and that user is the owner the
    charm checks for.
    """
    blog = FakeBlog(root / workload.MODE_FILE.lstrip("/"))
    monkeypatch.setattr(health, "read", blog.health)
    if os.geteuid() != 0:
        monkeypatch.setattr(workload, "FILE_OWNER", getpass.getuser())
    return blog


def context(charm: type[ops.CharmBase], variant: str) -> testing.Context[ops.CharmBase]:
    """An ops.testing context for ``charm`` with ``variant``'s metadata and the shared config."""
    return testing.Context(
        charm, meta=metadata(variant), config=config_options(), actions=action_definitions()
    )


def posts_storage() -> testing.Storage:
    """The unit's one instance of the ``posts`` storage."""
    return testing.Storage("posts", index=0)


def without_posts(state: testing.State) -> testing.State:
    """The same state with no posts storage attached."""
    return dataclasses.replace(state, storages=frozenset())


class FakeServiceManager(Protocol):
    """A faked service manager: it counts the starts and stops it was handed, and can forget."""

    @property
    def starts(self) -> int: ...

    @property
    def stops(self) -> int: ...

    def forget(self) -> None:
        """Forget the service, as the service manager of a new unit knows nothing of it."""
        ...


@dataclass
class CharmRun:
    """One charm class run hook by hook by ops.testing, its workload's files under ``root``."""

    root: Path
    ctx: testing.Context[ops.CharmBase]
    blog: FakeBlog
    # Whose metadata the charm runs with.
    variant: ClassVar[str]
    # What the charm tells an operator to run to read the blog's output.
    log_command: ClassVar[str]

    def file(self, location: str) -> Path:
        """Where a workload path lives during the test."""
        return self.root / location.lstrip("/")

    def run(self, event: Any, state: testing.State) -> testing.State:
        """Run one hook."""
        return self.ctx.run(event, state)

    def running(self, charm: type[ops.CharmBase]) -> Self:
        """The same run (files, blog, service manager) with another charm class."""
        return dataclasses.replace(self, ctx=context(charm, self.variant))

    def wipe(self) -> None:
        """Forget the workload entirely, as if the unit were new."""
        for child in self.root.iterdir():
            shutil.rmtree(child)
        self.blog.stop()
        self.service_manager().forget()

    def fresh(self, mode: str) -> testing.State:
        """The Juju state of a new unit with this mode configured and its posts storage."""
        return testing.State(config={"mode": mode}, storages={posts_storage()})

    def deploy(self, mode: str = "test") -> testing.State:
        """A fresh deploy: install, config-changed, start."""
        state = self.fresh(mode)
        for event in (self.ctx.on.install(), self.ctx.on.config_changed(), self.ctx.on.start()):
            state = self.run(event, state)
        return state

    def service_manager(self) -> FakeServiceManager:
        """The fake that the charm hands its starts and stops to."""
        raise NotImplementedError

    @property
    def starts(self) -> int:
        """Service starts the service manager was asked for so far (a restart is one)."""
        return self.service_manager().starts

    @property
    def stops(self) -> int:
        """Service stops the service manager was asked for so far (a restart is one)."""
        return self.service_manager().stops
