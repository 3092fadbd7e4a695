"""systemd and Pebble faked at the calls each variant's workload makes, and the runs that use them.

The machine charm's ``systemctl`` command lines go to :class:`FakeSystemctl`
(in place of ``subprocess.run``); the Kubernetes charm runs on ops.testing's
own Pebble, with every start, stop, restart and replan recorded in
:class:`PebbleCalls`. Behind both stands the fake blog of ``charm_run``.
The shared rules are tested on the ``Workload`` fake instead; these serve
whatever must go through a variant's own adapter: that variant's tests, the
end-to-end runs of each entrypoint, and the tempting designs of
``teaching``, which call systemd and Pebble through the same seam.
"""

from __future__ import annotations

import dataclasses
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ops
import pytest
from charmlibs.pathops import LocalPath
from ops import testing

import example_blog
import workload
from tests.support.charm_run import CharmRun, FakeBlog, context, fake_blog, posts_storage
from tests.variants import charm_class

_real_run = subprocess.run


def _completed(
    cmd: list[str], code: int, stdout: str, stderr: str, kwargs: dict[str, Any]
) -> subprocess.CompletedProcess[Any]:
    """What ``subprocess.run`` returns (or raises) for this result, with these arguments.

    Output is there only when it was captured, and is text only when asked
    for, as with the real call: a caller that forgets either gets what it
    would get from a real ``systemctl``.
    """
    captured = kwargs.get("capture_output") or kwargs.get("stdout") == subprocess.PIPE
    as_text = kwargs.get("text") or kwargs.get("universal_newlines")
    out, err = (
        ((stdout, stderr) if as_text else (stdout.encode(), stderr.encode()))
        if captured
        else (None, None)
    )
    if code and kwargs.get("check"):
        raise subprocess.CalledProcessError(code, cmd, out, err)
    return subprocess.CompletedProcess(cmd, code, out, err)


@dataclass
class FakeSystemctl:
    """systemd as seen through ``systemctl``: records every call, keeps enabled and failed.

    The unit is active while its blog runs; a start the blog does not survive
    leaves the unit failed with the blog's reason as its status text, as
    ``Type=notify`` and ``RestartPreventExitStatus=`` make the real one do, or,
    with ``restarts_failures``, waiting for a restart it scheduled itself
    (``auto-restart``, as after an exit status that ``Restart=on-failure``
    retries). ``show`` reports the properties asked for, as the real one does.
    Calls it was told to fail (``failing``) go to ``refused`` and change nothing.
    Each start is an invocation with an id of its own; ``journalctl`` answers
    the lines of one, which are the blog's reason when it fails with one, or
    ``last_words`` (what a run that fails otherwise wrote).
    """

    blog: FakeBlog
    enabled: bool = False
    failed: tuple[int, str] | None = None
    restarts_failures: bool = False
    restart_pending: bool = False
    failing: set[str] = field(default_factory=set)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    refused: list[tuple[str, ...]] = field(default_factory=list)
    last_words: list[str] = field(default_factory=list)
    journal: dict[str, list[str]] = field(default_factory=dict)
    invocations: int = 0

    @property
    def active(self) -> bool:
        """Whether the unit is active, that is its blog runs."""
        return self.blog.serving is not None

    @active.setter
    def active(self, value: bool) -> None:
        if value:
            self.failed = self.blog.start()
        else:
            self.blog.stop()

    @property
    def invocation(self) -> str:
        """The id of the unit's last run, as systemd reports it (empty before the first)."""
        return f"{self.invocations:032x}" if self.invocations else ""

    def _start(self) -> int:
        if self.active:
            return 0
        self.invocations += 1
        self.active = True
        self.restart_pending = self.failed is not None and self.restarts_failures
        if self.failed is None:
            self.journal[self.invocation] = []
        elif self.failed[0] in (example_blog.EXIT_BAD_MODE, example_blog.EXIT_CANNOT_LISTEN):
            self.journal[self.invocation] = [f"{example_blog.REASON_PREFIX}{self.failed[1]}"]
        else:
            self.journal[self.invocation] = list(self.last_words)
        return 1 if self.failed else 0

    def _journalctl(self, argv: tuple[str, ...]) -> str:
        """The output of one run: ``journalctl _SYSTEMD_INVOCATION_ID=ID --lines=N``."""
        [invocation] = [
            a.split("=", 1)[1] for a in argv if a.startswith("_SYSTEMD_INVOCATION_ID=")
        ]
        [lines] = [int(a.split("=", 1)[1]) for a in argv if a.startswith("--lines=")]
        return "".join(f"{line}\n" for line in self.journal.get(invocation, [])[-lines:])

    def _properties(self) -> dict[str, str]:
        if self.failed is None:
            state, sub = ("active", "running") if self.active else ("inactive", "dead")
            return {
                "ActiveState": state,
                "SubState": sub,
                "Result": "success",
                "ExecMainStatus": "0",
                "StatusText": "",
                "InvocationID": self.invocation,
            }
        status, reason = self.failed
        state, sub = ("activating", "auto-restart") if self.restart_pending else ("failed",) * 2
        return {
            "ActiveState": state,
            "SubState": sub,
            "Result": "exit-code",
            "ExecMainStatus": str(status),
            "StatusText": reason,
            "InvocationID": self.invocation,
        }

    def _show(self, argv: tuple[str, ...]) -> str:
        properties = self._properties()
        wanted = [arg.split("=", 1)[1] for arg in argv if arg.startswith("--property=")]
        return "".join(
            f"{name}={properties[name]}\n" for name in wanted or properties if name in properties
        )

    def _answer(self, verb: str, argv: tuple[str, ...]) -> tuple[int, str]:
        """Carry out one accepted call: its exit status and output."""
        now = "--now" in argv
        if verb == "is-active":
            return (0 if self.active else 3), ""
        if verb == "show":
            return 0, self._show(argv)
        if verb in ("start", "restart") or (verb == "enable" and now):
            self.enabled = self.enabled or verb == "enable"
            return self._start(), ""
        elif verb == "enable":
            self.enabled = True
        elif verb in ("stop", "disable"):
            self.enabled = self.enabled and verb != "disable"
            if verb == "stop" or now:
                self.active = False
                self.restart_pending = False
        return 0, ""

    def __call__(self, cmd: Any, *args: Any, **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        if isinstance(cmd, list) and cmd and cmd[0] == "journalctl":
            return _completed(cmd, 0, self._journalctl(tuple(cmd[1:])), "", kwargs)
        if not (isinstance(cmd, list) and cmd and cmd[0] == "systemctl"):
            return _real_run(cmd, *args, **kwargs)
        argv = tuple(cmd[1:])
        verb = next(arg for arg in argv if not arg.startswith("-"))
        if verb in self.failing:
            self.refused.append(argv)
            code, stdout, stderr = 1, "", f"systemctl {verb} failed"
        elif verb != "daemon-reload" and workload.SERVICE_NAME not in argv[argv.index(verb) + 1 :]:
            # The blog's is the only unit this machine's charm may touch.
            code, stdout, stderr = 5, "", f"unit not loaded: {argv}"
        else:
            self.calls.append(argv)
            code, stdout = self._answer(verb, argv)
            stderr = ""
        return _completed(cmd, code, stdout, stderr, kwargs)

    @property
    def starts(self) -> int:
        """How many times the service was started (``start``, ``restart`` or ``enable --now``)."""
        return sum(
            1
            for argv in self.calls
            if argv[0] in ("start", "restart") or (argv[0] == "enable" and "--now" in argv)
        )

    @property
    def stops(self) -> int:
        """How many times the service was stopped or restarted."""
        return sum(1 for argv in self.calls if argv[0] in ("stop", "restart"))

    def forget(self) -> None:
        """A new machine's systemd: the service was never installed."""
        self.enabled = False
        self.failed = None

    def reboot(self) -> None:
        """What a machine reboot does: enabled services come back up, the log starts anew."""
        self.active = False
        self.failed = None
        self.active = self.enabled
        self.calls.clear()


@dataclass
class MachineCharmRun(CharmRun):
    """The machine charm through its entrypoint, its ``systemctl`` faked."""

    systemctl: FakeSystemctl
    variant = "machine"
    log_command = "journalctl -u example-blog"

    def service_manager(self) -> FakeSystemctl:
        """The fake systemctl."""
        return self.systemctl


def machine_charm_run(root: Path, monkeypatch: pytest.MonkeyPatch) -> MachineCharmRun:
    """The machine charm on a machine whose root is ``root`` and whose systemd is faked."""
    # Not at the top: ``tests.variants`` must name the module first (it does on import).
    import systemd_workload

    blog = fake_blog(root, monkeypatch)
    fake = FakeSystemctl(blog)
    monkeypatch.setattr(subprocess, "run", fake)
    monkeypatch.setattr(
        systemd_workload.SystemdWorkload,
        "path",
        lambda _self, location: LocalPath(root, location.lstrip("/")),
    )
    ctx = context(charm_class("machine"), MachineCharmRun.variant)
    return MachineCharmRun(root, ctx, blog, fake)


@dataclass
class PebbleCalls:
    """Every Pebble call that can start or stop a service, in order."""

    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    @property
    def starts(self) -> int:
        """Starts, counting a restart as one."""
        return sum(1 for name, _ in self.calls if name in ("start", "restart"))

    @property
    def stops(self) -> int:
        """Stops, counting a restart as one."""
        return sum(1 for name, _ in self.calls if name in ("stop", "restart"))

    def names(self) -> list[str]:
        """The calls' names, in order."""
        return [name for name, _ in self.calls]

    def forget(self) -> None:
        """Nothing to forget: a new pod's Pebble is the new state's container (``fresh``)."""


@dataclass
class K8sCharmRun(CharmRun):
    """The Kubernetes charm through its entrypoint, on ops.testing's Pebble, its calls recorded."""

    pebble: PebbleCalls
    variant = "k8s"
    log_command = "pebble logs example-blog"

    def container(self, *, can_connect: bool = True, **kwargs: Any) -> testing.Container:
        """The workload container, its filesystem mounted from the temporary root."""
        mounts: dict[str, testing.Mount] = {}
        directories = (
            str(Path(workload.MODE_FILE).parent),
            str(Path(workload.CODE_FILE).parent),
            workload.POSTS_DIR,
        )
        for location in directories:
            directory = self.file(location)
            directory.mkdir(parents=True, exist_ok=True)
            mounts[directory.name] = testing.Mount(location=location, source=directory)
        return testing.Container("blog", can_connect=can_connect, mounts=mounts, **kwargs)

    def fresh(self, mode: str) -> testing.State:
        """A new pod: the workload container's Pebble is up but knows nothing yet."""
        return testing.State(
            config={"mode": mode}, containers={self.container()}, storages={posts_storage()}
        )

    def deploy(self, mode: str = "test") -> testing.State:
        """A fresh deploy where Pebble answers only from pebble-ready on."""
        state = connect(self.fresh(mode), can_connect=False)
        for event in (self.ctx.on.install(), self.ctx.on.config_changed(), self.ctx.on.start()):
            state = self.run(event, state)
        state = connect(state)
        return self.run(self.ctx.on.pebble_ready(state.get_container("blog")), state)

    def service_manager(self) -> PebbleCalls:
        """The record of Pebble's calls."""
        return self.pebble


def connect(state: testing.State, can_connect: bool = True) -> testing.State:
    """The same state with Pebble in the workload container reachable (or not)."""
    container = dataclasses.replace(state.get_container("blog"), can_connect=can_connect)
    return dataclasses.replace(state, containers={container})


def failed_start(
    status: int, reason: str, output: list[str] | None = None
) -> ops.pebble.ChangeError:
    """The error Pebble gives for a service that exits right after it is started.

    ``output`` is what the service wrote; by default the blog's reason line,
    or nothing when it gave none.
    """
    if output is None:
        output = [f"example-blog: {reason}"] if reason else []
    now = "2026-01-01T00:00:00Z"
    err = (
        "cannot perform the following tasks:\n- Start service "
        f'"{workload.SERVICE_NAME}" (service start attempt: exited quickly with code '
        f"{status}, will restart)"
    )
    # Pebble v1.26's task log: the heading, then each line indented by four spaces.
    shown = "".join(f"\n    {line}" for line in output)
    logged = [f"{now} INFO Most recent service output:{shown}"] if output else []
    task: Any = {
        "id": "1",
        "kind": "start",
        "summary": f'Start service "{workload.SERVICE_NAME}"',
        "status": "Error",
        "log": [*logged, f"{now} ERROR {err.splitlines()[-1]}"],
        "progress": {"label": "", "done": 1, "total": 1},
        "spawn-time": now,
    }
    change: Any = {
        "id": "1",
        "kind": "start",
        "summary": task["summary"],
        "status": "Error",
        "ready": True,
        "err": err,
        "spawn-time": now,
        "tasks": [task],
    }
    return ops.pebble.ChangeError(err, ops.pebble.Change.from_dict(change))


def k8s_charm_run(root: Path, monkeypatch: pytest.MonkeyPatch) -> K8sCharmRun:
    """The Kubernetes charm, its container's files under ``root``, every Pebble call recorded.

    Each start and restart starts the fake blog, which raises the error Pebble
    gives when the blog exits at once; each stop stops it.
    """
    calls = PebbleCalls()
    blog = fake_blog(root, monkeypatch)
    for name in ("start", "stop", "restart", "replan"):
        original = getattr(ops.Container, name)

        def spy(self: ops.Container, *args: Any, _name: str = name, _original: Any = original):
            calls.calls.append((_name, args))
            result = _original(self, *args)
            if _name == "stop":
                blog.stop()
            elif _name in ("start", "restart") and (failure := blog.start()):
                raise failed_start(*failure)
            return result

        monkeypatch.setattr(ops.Container, name, spy)
    ctx = context(charm_class("k8s"), K8sCharmRun.variant)
    return K8sCharmRun(root, ctx, blog, calls)
