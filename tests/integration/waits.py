"""Deadlines shared by every driver of a real Juju: nothing the tier awaits may hang the suite.

Driver-neutral (no Juju client, no pytest), so that the pytest-operator and the jubilant
drivers, and :mod:`tests.integration.pods`, bound their waits alike.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

# One juju CLI call (a hook run through juju exec included).
CALL_TIMEOUT = 5 * 60
# Juju settling a unit after a change, a reboot or a new pod.
SETTLE_TIMEOUT = 15 * 60
POLL = 5.0
T = TypeVar("T")


async def bounded(call: Awaitable[T], what: str, timeout: float = CALL_TIMEOUT) -> T:
    """Await a call (python-libjuju, lightkube, a thread), failing the test past ``timeout``."""
    try:
        return await asyncio.wait_for(call, timeout)
    except TimeoutError:
        raise AssertionError(f"{what} did not end within {timeout} s") from None


async def poll_until(
    condition: Callable[[], Awaitable[bool]], what: str, *, timeout: float = SETTLE_TIMEOUT
) -> None:
    """Await a condition that no Juju event announces (a reboot, a new pod), with a deadline."""
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        await asyncio.sleep(POLL)
