"""What both integration drivers do alike, whatever drives Juju: the substrate's ways of looking.

Each test module hands a driver its substrate's observers: ``starts_on``
counts the blog's starts on a unit (systemd's journal of this boot, or this
pod's Pebble changes), ``incarnation_of`` names the unit's boot or pod, and
``reschedule_pod`` (Kubernetes only) deletes a unit's pod and waits for the
new one, which ``replaced_pod`` only waits for. A driver adds how it runs a
command in a unit (:meth:`run`) and how it probes one that may be down
(:meth:`probe_boot_id`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.integration import unit_commands as commands
from tests.integration.waits import poll_until


class SubstrateHooks:
    """The shared half of a driver; the dataclass that mixes it in holds the fields."""

    app: str
    starts_on: Callable[[str], Awaitable[int]]
    incarnation_of: Callable[[str], Awaitable[str]]
    reschedule_pod: Callable[[str], Awaitable[None]] | None
    replaced_pod: Callable[[str, str], Awaitable[None]] | None

    @property
    def unit(self) -> str:
        """The unit under test."""
        return f"{self.app}/0"

    async def run(self, script: str, unit: str | None = None) -> str:
        """Run one of :mod:`unit_commands`' commands on ``unit`` (the unit under test)."""
        raise NotImplementedError

    async def probe_boot_id(self, unit: str) -> str | None:
        """The unit's boot id, or None while ``juju exec`` cannot reach it (a reboot)."""
        raise NotImplementedError

    async def starts(self, unit: str | None = None) -> int:
        """How many times the blog started on ``unit`` (the unit under test)."""
        return await self.starts_on(unit or self.unit)

    async def incarnation(self, unit: str | None = None) -> str:
        """What names ``unit``'s current boot or pod (the unit under test's)."""
        return await self.incarnation_of(unit or self.unit)

    async def reboot(self, unit: str) -> None:
        """Reboot the unit's machine; return once ``juju exec`` reaches it in a new boot."""
        boot_before = (await self.run(commands.boot_id(), unit)).strip()
        await self.run(commands.reboot(), unit)  # fires a few seconds after juju exec returned

        async def rebooted() -> bool:
            boot_id = await self.probe_boot_id(unit)
            return boot_id is not None and boot_id.strip() not in ("", boot_before)

        await poll_until(rebooted, f"{unit} back from its reboot")

    async def reschedule(self, unit: str) -> None:
        """Delete the unit's pod; return once its replacement runs with every container ready."""
        assert self.reschedule_pod is not None, f"{self.app} has no pods to reschedule"
        await self.reschedule_pod(unit)

    async def replaced(self, unit: str, old: str) -> None:
        """Wait for a pod of ``unit`` other than incarnation ``old``, every container ready."""
        assert self.replaced_pod is not None, f"{self.app} has no pods to replace"
        await self.replaced_pod(unit, old)
