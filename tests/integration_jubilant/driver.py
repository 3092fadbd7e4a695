"""The jubilant driver of :class:`tests.integration.scenarios.Deployment`: the juju CLI, sync.

Each jubilant call is one ``juju`` process (run through :mod:`bounded_cli`, which records
and cuts it off), made in a worker thread so that the async scenarios await it like the
python-libjuju driver's calls; the thread is bounded too. Commands sent into a unit are
:mod:`tests.integration.unit_commands`', exactly as the other driver sends them.
"""

from __future__ import annotations

import asyncio
import functools
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import jubilant
import yaml

from tests.integration import readme_commands
from tests.integration import unit_commands as commands
from tests.integration.juju_run import parse_juju_run
from tests.integration.scenarios import ActionOutcome
from tests.integration.substrate_hooks import SubstrateHooks
from tests.integration.waits import CALL_TIMEOUT, POLL, SETTLE_TIMEOUT, bounded, poll_until

T = TypeVar("T")
# The CLI wrapper cuts a call off at CALL_TIMEOUT + this; the thread waits this much longer.
MARGIN = 30
REBOOT_PROBE_TIMEOUT = 60
SNAP_JUJU_DIR = Path("~/snap/juju/common").expanduser()


def unit_number(unit: str) -> int:
    """The number of a unit (``app/3`` is 3), to order units as Juju numbers them."""
    return int(unit.rsplit("/", 1)[1])


@dataclass
class JubilantBlog(SubstrateHooks):
    """One deployed variant, driven with jubilant; starts counted as in the other driver."""

    juju: jubilant.Juju
    app: str
    starts_on: Callable[[str], Awaitable[int]]
    incarnation_of: Callable[[str], Awaitable[str]]
    reschedule_pod: Callable[[str], Awaitable[None]] | None = None
    replaced_pod: Callable[[str, str], Awaitable[None]] | None = None

    async def _call(
        self, what: str, call: Callable[..., T], *args: Any, limit: float = CALL_TIMEOUT, **kw: Any
    ) -> T:
        """One jubilant call in a worker thread, bounded."""
        work = functools.partial(call, *args, **kw)
        return await bounded(asyncio.to_thread(work), what, limit + 2 * MARGIN)

    async def _cli(self, *args: str) -> tuple[int, str, str]:
        """``juju ARGS`` in the model: exit code, stdout, stderr (a failure is not raised)."""
        try:
            return 0, await self._call(f"juju {args[0]}", self.juju.cli, *args), ""
        except jubilant.CLIError as e:
            return e.returncode, e.stdout or "", e.stderr or ""

    async def _status(self) -> jubilant.Status:
        return await self._call("juju status", self.juju.status)

    async def units(self) -> list[str]:
        """Every unit of the application that Juju knows, by number."""
        shown = (await self._status()).apps.get(self.app)
        return sorted(shown.units if shown else (), key=unit_number)

    async def run(self, script: str, unit: str | None = None) -> str:
        """Run one of :mod:`unit_commands`' commands on ``unit`` (the unit under test)."""
        task = await self._call(
            "juju exec", self.juju.exec, script, unit=unit or self.unit, wait=CALL_TIMEOUT
        )
        return task.stdout

    async def hook(self, name: str) -> None:
        """Run a hook now, holding the unit's lock as the agent's own hooks do."""
        code, _, stderr = await self._cli(
            *("exec", "--unit", self.unit, f"--wait={CALL_TIMEOUT}s", "--parallel=false"),
            *("--", commands.hook(name)),
        )
        assert code == 0, f"hook {name} failed ({code}): {stderr}"

    async def health(self) -> dict[str, Any]:
        """The blog's own report, read on the unit."""
        return commands.parse_health(await self.run(commands.health()))

    async def settle(self, status: str = "active", message: str | None = None) -> None:
        """Wait until every unit shows ``message`` (if given) and is idle in ``status``."""

        def ready(shown: jubilant.Status) -> bool:
            app = shown.apps.get(self.app)
            if app is None or not app.units:
                return False
            return all(
                unit.workload_status.current == status
                and unit.juju_status.current == "idle"
                and (message is None or unit.workload_status.message == message)
                for unit in app.units.values()
            )

        await self._call(
            "settling",
            self.juju.wait,
            ready,
            limit=SETTLE_TIMEOUT,
            timeout=SETTLE_TIMEOUT,
            delay=POLL,
        )

    async def juju_run(self, command: Sequence[str]) -> ActionOutcome:
        """Run a user's ``juju run UNIT ACTION key=value...`` as written; its outcome."""
        assert command[:1] == ["run"], f"not a juju run: {command}"
        options = ["--format=json", f"--wait={CALL_TIMEOUT}s"]
        return parse_juju_run(*await self._cli("run", *options, *command[1:]))

    async def run_action(self, unit: str, action: str, params: Mapping[str, str]) -> ActionOutcome:
        """Run ``action`` on ``unit`` with ``params`` in a YAML file, so each stays a string."""
        where = SNAP_JUJU_DIR if SNAP_JUJU_DIR.is_dir() else None
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=where, encoding="utf-8") as file:
            yaml.safe_dump(dict(params), file)
            file.flush()
            return await self.juju_run(["run", unit, action, f"--params={file.name}"])

    async def request_mode(self, mode: str) -> None:
        """Set the ``mode`` config, waiting for nothing."""
        await self._call(f"setting mode={mode}", self.juju.config, self.app, {"mode": mode})

    async def set_mode(self, mode: str) -> None:
        """Change the config and wait for the charm to serve that mode."""
        await self.request_mode(mode)
        await self.settle(message=f"serving in {mode} mode")

    async def status_message(self, unit: str | None = None) -> str:
        """The workload status message of ``unit`` (the unit under test)."""
        shown = (await self._status()).apps[self.app].units[unit or self.unit]
        return shown.workload_status.message

    async def add_unit(self) -> str:
        """``juju add-unit`` once; the new unit's name, as soon as Juju knows it."""
        before = set(await self.units())
        await self._call("juju add-unit", self.juju.add_unit, self.app)

        async def known() -> bool:
            return len(await self.units()) > len(before)

        await poll_until(known, f"a new unit of {self.app}")
        (new,) = set(await self.units()) - before
        return new

    async def probe_boot_id(self, unit: str) -> str | None:
        """The unit's boot id, or None while ``juju exec`` cannot reach it (a reboot)."""
        code, shown, _ = await self._cli(
            *("exec", "--unit", unit, f"--wait={REBOOT_PROBE_TIMEOUT}s"),
            *("--", commands.boot_id()),
        )
        return shown if code == 0 else None

    async def deploy_as_the_readme_says(self, variant: str, charm: Path) -> None:
        """The README's own ``juju deploy`` of ``charm``; return once Juju knows the unit."""
        code, _, stderr = await self._cli(*readme_commands.deploy_command(variant, charm))
        assert code == 0, f"juju deploy failed ({code}): {stderr}"

        async def known() -> bool:
            return bool(await self.units())

        await poll_until(known, f"a unit of {self.app}")

    async def configure_as_the_readme_says(self) -> str:
        """Run the README's ``juju config`` for this application; the mode it sets."""
        command = readme_commands.config_command(self.app)
        code, _, stderr = await self._cli(*command)
        assert code == 0, f"juju config failed ({code}): {stderr}"
        (mode,) = (word.split("=", 1)[1] for word in command if word.startswith("mode="))
        await self.settle(message=f"serving in {mode} mode")
        return mode

    async def refresh(self, charm: Path) -> None:
        """Refresh to ``charm`` and wait until the unit itself runs the new revision."""
        before = (await self._status()).apps[self.app].charm_rev
        await self._call(f"refreshing {self.app}", self.juju.refresh, self.app, path=charm)

        async def upgraded() -> bool:
            shown = (await self._status()).apps[self.app]
            pending = any(unit.upgrading_from for unit in shown.units.values())
            return shown.charm_rev != before and bool(shown.units) and not pending

        await poll_until(upgraded, f"{self.unit} running the refreshed charm")
