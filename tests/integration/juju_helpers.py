"""Small helpers over ``juju`` commands, shared by the machine and Kubernetes tests.

Starts are counted from the blog's own log lines (one "serving ... mode" line
per process start) and its /health endpoint (a ``start_id`` that is new for
every start), so the tests see what the workload saw, not what the charm says.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pytest_operator.plugin import OpsTest

TIMEOUT = 15 * 60
HEALTH = (
    "import urllib.request; "
    "print(urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=10).read().decode())"
)
START_LINE = "example-blog 1.0.0: serving"


async def juju(ops_test: OpsTest, *args: str) -> str:
    """Run a juju command in the test model; fail the test with its stderr if it fails."""
    code, stdout, stderr = await ops_test.juju(*args)
    assert code == 0, f"juju {shlex.join(args)} failed ({code}): {stderr}"
    return stdout


async def run_hook(ops_test: OpsTest, unit: str, hook: str) -> None:
    """Run one of the charm's hooks now, as Juju would (used for hooks with no trigger)."""
    await juju(
        ops_test, "exec", "--unit", unit, "--", f"JUJU_DISPATCH_PATH=hooks/{hook} ./dispatch"
    )


def parse_health(output: str) -> dict[str, Any]:
    """The /health JSON from a command's output."""
    return json.loads(output.strip().splitlines()[-1])


def count_starts(log: str) -> int:
    """How many process starts a log shows."""
    return sum(1 for line in log.splitlines() if START_LINE in line)


async def poll_until(
    condition: Callable[[], Awaitable[bool]], *, timeout: float, every: float = 5.0
) -> None:
    """Await a condition that no Juju event announces (a reboot), with a deadline."""
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, f"condition not met within {timeout} s"
        await asyncio.sleep(every)


@dataclass
class DeployedBlog:
    """One deployed variant, with the substrate's own ways to read health and count starts."""

    ops_test: OpsTest
    app: str
    health: Callable[[], Awaitable[dict[str, Any]]]
    starts: Callable[[], Awaitable[int]]

    @property
    def unit(self) -> str:
        """The unit under test."""
        return f"{self.app}/0"

    async def settle(self, status: str = "active") -> None:
        """Wait until Juju has run every pending hook and the unit shows ``status``."""
        assert self.ops_test.model is not None
        await self.ops_test.model.wait_for_idle(apps=[self.app], status=status, timeout=TIMEOUT)

    async def set_mode(self, mode: str, status: str = "active") -> None:
        """Change the config and wait for the charm to have acted on it."""
        assert self.ops_test.model is not None
        await self.ops_test.model.applications[self.app].set_config({"mode": mode})
        await self.settle(status)

    def status_message(self) -> str:
        """The unit's workload status message."""
        assert self.ops_test.model is not None
        return self.ops_test.model.applications[self.app].units[0].workload_status_message


async def assert_repeated_hooks_add_no_start(blog: DeployedBlog, hooks: tuple[str, ...]) -> None:
    """Hooks that find everything right must leave the running process alone."""
    before, starts = await blog.health(), await blog.starts()
    for hook in hooks:
        await run_hook(blog.ops_test, blog.unit, hook)
    await blog.settle()

    assert (await blog.health())["start_id"] == before["start_id"]
    assert await blog.starts() == starts


async def assert_toggles_restart_once(blog: DeployedBlog) -> None:
    """Each real mode change is exactly one new start, in the new mode."""
    starts = await blog.starts()
    for mode in ("production", "test"):
        await blog.set_mode(mode)
        starts += 1
        assert blog.status_message() == f"serving in {mode} mode"
        assert (await blog.health())["mode"] == mode
        assert await blog.starts() == starts


async def assert_invalid_mode_blocks_and_changes_nothing(blog: DeployedBlog) -> None:
    """A bad value blocks the unit and touches nothing; fixing it back restarts nothing."""
    before = await blog.health()
    await blog.set_mode("Production", status="blocked")
    assert "'Production'" in blog.status_message()
    assert (await blog.health())["start_id"] == before["start_id"]

    await blog.set_mode(before["mode"])
    assert (await blog.health())["start_id"] == before["start_id"]
