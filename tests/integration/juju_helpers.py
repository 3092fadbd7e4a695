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
from typing import Any

from pytest_operator.plugin import OpsTest

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
