"""The machine charm on a real systemd: what ``nocloud.nspawn`` needs of this charm, and more.

nocloud boots a machine and knows no charm; this module tells it what this
one needs: the Python packages of the machine's venv (:func:`machine_root`)
and the project mounted read-only inside (:func:`machine_container`).

A :class:`MachineBlog` wraps a booted :class:`~nocloud.nspawn.Container`. It
runs the charm's hooks inside under ``ops.testing`` (see
:mod:`tests.substrate.machine_driver`) and observes the result only where an
operator could: systemd's view of the unit (``systemctl show``, the journal,
``systemd-analyze``), the files on the machine, and the blog's own health
endpoint, which the container serves on the host's loopback because it
shares the host's network. Nothing here reads charm internals.
:class:`JujuUnit` instead deploys the assembled charm as Juju lays it out,
with the hook tools of :mod:`nocloud.hook_tools`, for ``juju exec``.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from nocloud import nspawn
from nocloud.hook_tools import HookTools, write_dispatch
from nocloud.settings import VENV_PYTHON
from tools.assemble import assemble

PROJECT: Final = Path(__file__).resolve().parents[2]
PROJECT_INSIDE: Final = "/srv/example-blog"
UNIT: Final = "example-blog.service"
PORT: Final = 8080
BLOG_URL: Final = f"http://127.0.0.1:{PORT}"
# What the Python code run inside the container needs (the charm and ops.testing).
REQUIREMENTS: Final = ("ops[testing]", "charmlibs-pathops", "charmlibs-systemd", "pyyaml")
# systemd's catalogue ids of "unit started" and "unit stopped" journal messages.
UNIT_STARTED: Final = "39f53479d3a045ac8e11786248231fbf"
UNIT_STOPPED: Final = "9d1aaa27d60140bd96365438aad20286"
# Charm hooks import ops and ops.testing; one call runs a few hooks.
HOOKS_TIMEOUT: Final = 60.0
# Where a machine's unit agent keeps the deployed charm.
JUJU_DIR: Final = "/var/lib/juju"
UNIT_NAME: Final = "example-blog/0"
AGENT_DIR: Final = "agents/unit-example-blog-0"
# Juju's rootfs storage of the unit: a directory of its own, bind-mounted at the location.
POSTS_DIR: Final = "/var/lib/example_blog/posts"
STORAGE_SOURCE: Final = "/var/lib/juju/storage/posts/0"
# The process that takes the blog's port (see ``squatter``), as a transient unit.
SQUATTER_UNIT: Final = "port-squatter.service"
SQUATTER_READY: Final = "/run/port-squatter.ready"
SQUATTER_TIMEOUT: Final = 15.0
# Health answers through the host's loopback, never through a proxy.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class HookError(Exception):
    """A charm hook failed inside the container."""


@dataclass(frozen=True)
class Service:
    """The unit as ``systemctl show`` reports it."""

    invocation_id: str
    main_pid: int
    started_at: str
    active_state: str
    load_state: str
    unit_file_state: str

    @property
    def active(self) -> bool:
        """Whether systemd reports the unit active."""
        return self.active_state == "active"

    @property
    def start(self) -> tuple[str, int, str]:
        """What identifies one start: InvocationID, MainPID and start time (in microseconds)."""
        return (self.invocation_id, self.main_pid, self.started_at)


@dataclass(frozen=True)
class Health:
    """What the blog reports about its own process start."""

    mode: str
    pid: int
    start_id: str
    started_at: str


def machine_root(progress: Callable[[str], None] | None = None) -> Path:
    """The cached container root with this project's Python requirements (built if needed).

    The first build takes about a minute; ``progress`` hears when it starts and ends.
    """
    return nspawn.ensure_root(nspawn.pinned_requirements(REQUIREMENTS), progress=progress)


def machine_container(
    root: Path, workdir: Path, *, juju_dir: Path | None = None
) -> nspawn.Container:
    """A container (not booted yet) with the project mounted read-only at PROJECT_INSIDE.

    With ``juju_dir``, that host directory is also the machine's writable
    ``/var/lib/juju``, where :class:`JujuUnit` lays out a deployed charm.
    """
    writable = {str(juju_dir): JUJU_DIR} if juju_dir else {}
    return nspawn.Container(
        root, workdir, binds={str(PROJECT): PROJECT_INSIDE}, writable_binds=writable
    )


def fetch(path: str, timeout: float = 2.0, *, base: str = BLOG_URL) -> str | None:
    """GET ``path`` from the blog at ``base``, or None when nothing answers on the port."""
    try:
        with _NO_PROXY.open(f"{base}{path}", timeout=timeout) as response:
            return response.read().decode()
    except (OSError, urllib.error.URLError):
        return None


def health_now(timeout: float = 2.0, *, base: str = BLOG_URL) -> Health | None:
    """The health report of the blog at ``base``, or None when nothing answers on the port."""
    text = fetch("/health", timeout, base=base)
    if text is None:
        return None
    data: dict[str, Any] = json.loads(text)
    return Health(
        mode=str(data["mode"]),
        pid=int(data["pid"]),
        start_id=str(data["start_id"]),
        started_at=str(data["started_at"]),
    )


class MachineBlog:
    """The machine charm and its service in one booted container."""

    def __init__(self, container: nspawn.Container):
        self.container = container

    def hooks(self, mode: str, *events: str, design: str | None = None) -> list[dict[str, str]]:
        """Run charm hooks in order with ``mode`` configured; the unit status after each.

        ``design`` names one of ``teaching/designs.py``'s charms to run instead.
        """
        chosen = ["--design", design] if design else []
        result = self.container.run(
            [VENV_PYTHON, "-m", "tests.substrate.machine_driver", *chosen, mode, *events],
            cwd=PROJECT_INSIDE,
            env={"PYTHONPATH": "src:machine/src:.", "PYTHONDONTWRITEBYTECODE": "1"},
            timeout=HOOKS_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise HookError(f"hooks {events} with mode {mode!r} failed:\n{result.stderr}")
        return [json.loads(line) for line in result.stdout.splitlines()]

    def attach_storage(self, *, in_fstab: bool) -> None:
        """What Juju's rootfs provider does on attach, before install on a deploy.

        Juju lists the mount in ``/etc/fstab`` only since late 2025
        (juju#21304); before, its agent mounted it again after a reboot, once
        the blog may have started. ``in_fstab`` chooses which.
        """
        self.container.run(["mkdir", "-p", STORAGE_SOURCE, POSTS_DIR])
        self.container.run(["mount", "--bind", STORAGE_SOURCE, POSTS_DIR])
        if in_fstab:
            line = f"{STORAGE_SOURCE} {POSTS_DIR} none bind 0 0\n"
            self.container.run(["sh", "-c", 'printf %s "$1" >> /etc/fstab', "sh", line])

    def service(self) -> Service:
        """The unit as systemd sees it now."""
        properties = (
            "InvocationID",
            "MainPID",
            "ExecMainStartTimestamp",
            "ActiveState",
            "LoadState",
        )
        result = self.container.run(
            [
                "systemctl",
                "show",
                "--timestamp=us+utc",
                *(f"--property={p}" for p in properties),
                UNIT,
            ]
        )
        shown = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
        enabled = self.container.run(["systemctl", "is-enabled", UNIT], check=False)
        return Service(
            invocation_id=shown.get("InvocationID", ""),
            main_pid=int(shown.get("MainPID") or 0),
            started_at=shown.get("ExecMainStartTimestamp", ""),
            active_state=shown.get("ActiveState", ""),
            load_state=shown.get("LoadState", ""),
            unit_file_state=enabled.stdout.strip() or "not-found",
        )

    def journal(self, message_id: str) -> list[dict[str, Any]]:
        """The journal entries with ``message_id`` about the unit, in this boot."""
        self.container.run(["journalctl", "--sync"])
        result = self.container.run(
            [
                "journalctl",
                "--boot=0",
                "--output=json",
                "--no-pager",
                f"MESSAGE_ID={message_id}",
                f"UNIT={UNIT}",
            ]
        )
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def starts(self) -> list[str]:
        """The InvocationID of every start of the unit in this boot, oldest first."""
        return [entry.get("INVOCATION_ID", "") for entry in self.journal(UNIT_STARTED)]

    def attempts(self) -> list[str]:
        """The InvocationID of every run of the unit in this boot, failed ones too, oldest first.

        systemd gives each run of the unit a new InvocationID and writes it
        into its own messages about the run; a run that fails has no
        "started" message, but it has those.
        """
        self.container.run(["journalctl", "--sync"])
        result = self.container.run(
            ["journalctl", "--boot=0", "--output=json", "--no-pager", f"UNIT={UNIT}"]
        )
        seen: list[str] = []
        for line in result.stdout.splitlines():
            invocation = json.loads(line).get("INVOCATION_ID") if line.strip() else None
            if invocation and invocation not in seen:
                seen.append(invocation)
        return seen

    def properties(self, *names: str) -> dict[str, str]:
        """Properties of the unit as ``systemctl show`` reports them."""
        result = self.container.run(
            ["systemctl", "show", *(f"--property={name}" for name in names), UNIT]
        )
        return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)

    def squat(self) -> None:
        """Start another process that takes the blog's port as soon as it is free."""
        self.container.run(
            [
                *("systemd-run", f"--unit={SQUATTER_UNIT}", "--collect", "--quiet"),
                *("/usr/bin/python3", "-I", "-S", f"{PROJECT_INSIDE}/nocloud/squatter.py"),
                *(str(PORT), SQUATTER_READY),
            ]
        )

    def wait_squatted(self) -> None:
        """Wait until the squatter holds the port."""
        deadline = time.monotonic() + SQUATTER_TIMEOUT
        while not self.exists(SQUATTER_READY):
            if time.monotonic() > deadline:
                raise AssertionError(f"the squatter did not take port {PORT}")
            time.sleep(0.05)

    def free_port(self) -> None:
        """Stop the squatter: the port is free again."""
        self.container.run(["systemctl", "stop", SQUATTER_UNIT])
        self.delete(SQUATTER_READY)

    def kill_blog(self) -> int:
        """SIGKILL the blog's process from outside, as the OOM killer would; its pid."""
        pid = self.service().main_pid
        assert pid, "the blog is not running"
        self.container.run(["sh", "-c", 'kill -KILL "$1"', "sh", str(pid)])
        return pid

    def stops(self) -> int:
        """How many times the unit stopped in this boot."""
        return len(self.journal(UNIT_STOPPED))

    def health(self, timeout: float = 15.0) -> Health:
        """The health report of the process systemd runs as the unit's main process.

        Waits (until ``timeout``) for the unit to be active and for the blog
        to answer from that very process: an answer from any other pid would
        be an old or a stray process.
        """
        deadline = time.monotonic() + timeout
        service = health = None
        while time.monotonic() < deadline:
            service = self.service()
            if service.active and service.main_pid:
                health = health_now()
                if health is not None and health.pid == service.main_pid:
                    return health
            time.sleep(0.05)
        raise AssertionError(f"no health answer from the unit's process: {service}, {health}")

    def read(self, path: str) -> str | None:
        """A text file's content on the machine, or None when it does not exist."""
        result = self.container.run(
            ["sh", "-c", 'test -e "$1" && cat "$1"', "sh", path], check=False
        )
        return result.stdout if result.returncode == 0 else None

    def exists(self, path: str) -> bool:
        """Whether ``path`` exists on the machine."""
        return self.container.run(["test", "-e", path], check=False).returncode == 0

    def write(self, path: str, content: str) -> None:
        """Replace a file by hand, as an operator on the machine would."""
        self.container.run(["sh", "-c", 'cat > "$1"', "sh", path], input=content)

    def delete(self, path: str) -> None:
        """Delete a file by hand."""
        self.container.run(["rm", "-f", path])

    def exposure(self) -> float:
        """``systemd-analyze security``'s overall exposure score of the unit (0 best, 10 worst)."""
        result = self.container.run(["systemd-analyze", "security", "--no-pager", UNIT])
        match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", result.stdout)
        if not match:
            raise AssertionError(f"no exposure level in:\n{result.stdout}")
        return float(match.group(1))


class JujuUnit:
    """The machine charm deployed as Juju lays it out, and ``juju exec`` on its unit.

    The assembled charm sits in the agent's directory with a ``dispatch``
    like charmcraft's (run with the container's venv, which has the charm's
    dependencies) and the emulated hook tools of ``nocloud.hook_tools``, so that a
    hook run through ``juju exec`` goes through the real ``dispatch`` and
    ``ops.main`` against the machine's real systemd.
    """

    def __init__(self, container: nspawn.Container, juju_dir: Path, config: dict[str, Any]):
        self.container = container
        agent = juju_dir / AGENT_DIR
        self.charm_dir = f"{JUJU_DIR}/{AGENT_DIR}/charm"
        charm = assemble("machine", agent / "charm", PROJECT)
        write_dispatch(charm, [VENV_PYTHON, "./src/charm.py"])
        self.juju = HookTools(
            agent / "controller",
            config,
            seen_as=Path(JUJU_DIR, AGENT_DIR, "controller"),
            python=VENV_PYTHON,
            harness_path=PROJECT_INSIDE,
        )

    def juju_exec(self, script: str) -> subprocess.CompletedProcess[str]:
        """Run ``script`` as ``juju exec`` does on a machine unit.

        As root, in the charm's directory, with bash reading the script, and
        with only the environment ``juju exec`` provides.
        """
        return self.container.run(
            ["/bin/bash", "-s"],
            input=script,
            env=self.juju.exec_environment(UNIT_NAME, self.charm_dir),
            cwd=self.charm_dir,
            timeout=HOOKS_TIMEOUT,
            check=False,
        )
