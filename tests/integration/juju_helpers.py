"""The integration tier's side of Juju: bounded ``juju`` calls, and one deployed application.

:class:`DeployedBlog` is the python-libjuju (pytest-operator) driver of
:class:`tests.integration.scenarios.Deployment`, which the posts scenarios
are written against.

Every command sent into a unit comes from :mod:`tests.integration.unit_commands`
(where the real-substrate tier runs each of them on a real systemd and Pebble);
this module only carries them there with ``juju exec`` and waits for Juju.
Every call is bounded: a reboot drops connections and a hung ``juju`` must
fail the test, not hang the suite.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pytest_operator.plugin import OpsTest

from tests.integration import readme_commands
from tests.integration import unit_commands as commands
from tests.integration.juju_run import parse_juju_run
from tests.integration.scenarios import ActionOutcome
from tests.integration.substrate_hooks import SubstrateHooks
from tests.integration.waits import CALL_TIMEOUT, POLL, SETTLE_TIMEOUT, bounded, poll_until

__all__ = ["CALL_TIMEOUT", "DeployedBlog", "bounded", "juju", "poll_until", "tried_juju"]
# The exit code a cut-off call reports, as timeout(1) does.
TIMED_OUT = 124
# A reboot drops every connection; each try to reach the machine again is this short.
REBOOT_PROBE_TIMEOUT = 60
# The one directory of the user's a strictly confined juju snap may read files in.
SNAP_JUJU_DIR = Path("~/snap/juju/common").expanduser()


async def juju(ops_test: OpsTest, *args: str, timeout: float = CALL_TIMEOUT) -> str:
    """Run a juju command in the test model; fail the test with its stderr if it fails."""
    code, stdout, stderr = await tried_juju(ops_test, *args, timeout=timeout)
    assert code == 0, f"juju {shlex.join(args)} failed ({code}): {stderr}"
    return stdout


async def tried_juju(
    ops_test: OpsTest, *args: str, timeout: float = CALL_TIMEOUT
) -> tuple[int, str, str]:
    """Run a juju command within ``timeout`` s: its exit code (124 if cut off), stdout, stderr."""
    try:
        code, stdout, stderr = await asyncio.wait_for(ops_test.juju(*args), timeout)
    except TimeoutError:
        return TIMED_OUT, "", f"did not end within {timeout} s"
    return (TIMED_OUT if code is None else code), stdout, stderr


async def unit_run(ops_test: OpsTest, unit: str, script: str, *, hook: bool = False) -> str:
    """``juju exec`` one command of :mod:`unit_commands` on ``unit``; its output.

    A hook run takes the unit's lock first (``--parallel=false``), as a hook
    the agent runs does, so it never overlaps one.
    """
    wait = f"--wait={CALL_TIMEOUT}s"
    lock = ["--parallel=false"] if hook else []
    return await juju(ops_test, "exec", "--unit", unit, wait, *lock, "--", script)


def unit_number(unit: str) -> int:
    """The number of a unit (``app/3`` is 3), to order units as Juju numbers them."""
    return int(unit.rsplit("/", 1)[1])


async def run_hook(ops_test: OpsTest, unit: str, hook: str) -> None:
    """Run one of the charm's hooks now, through its dispatch, as Juju would."""
    await unit_run(ops_test, unit, commands.hook(hook), hook=True)


async def status(ops_test: OpsTest) -> dict[str, Any]:
    """``juju status`` of the test model, as JSON."""
    shown: dict[str, Any] = json.loads(await juju(ops_test, "status", "--format=json"))
    return shown


@dataclass
class DeployedBlog(SubstrateHooks):
    """One deployed variant, driven with python-libjuju through pytest-operator.

    Its substrate's observers are those of :class:`SubstrateHooks`.
    """

    ops_test: OpsTest
    app: str
    starts_on: Callable[[str], Awaitable[int]]
    incarnation_of: Callable[[str], Awaitable[str]]
    reschedule_pod: Callable[[str], Awaitable[None]] | None = None
    replaced_pod: Callable[[str, str], Awaitable[None]] | None = None

    async def units(self) -> list[str]:
        """Every unit of the application that Juju knows, by number."""
        assert self.ops_test.model is not None
        app = self.ops_test.model.applications[self.app]
        return sorted((unit.name for unit in app.units), key=unit_number)

    async def run(self, script: str, unit: str | None = None) -> str:
        """Run one of :mod:`unit_commands`' commands on ``unit`` (the unit under test)."""
        return await unit_run(self.ops_test, unit or self.unit, script)

    async def hook(self, name: str) -> None:
        """Run one of the charm's hooks on the unit, now."""
        await run_hook(self.ops_test, self.unit, name)

    async def health(self) -> dict[str, Any]:
        """The blog's own report, read on the unit."""
        return commands.parse_health(await self.run(commands.health()))

    async def settle(self, status: str = "active", message: str | None = None) -> None:
        """Wait until every unit shows ``message`` (evidence that the hooks ran), then is idle."""
        model = self.ops_test.model
        assert model is not None
        if message is not None:
            await model.block_until(
                lambda: all(
                    unit.workload_status_message == message
                    for unit in model.applications[self.app].units
                ),
                timeout=SETTLE_TIMEOUT,
            )
        await model.wait_for_idle(apps=[self.app], status=status, timeout=SETTLE_TIMEOUT)

    async def juju_run(self, command: Sequence[str]) -> ActionOutcome:
        """Run a user's ``juju run UNIT ACTION key=value...`` as written; its outcome.

        Only the output format and Juju's own wait are added, so that the
        result can be read and a hung action fails the call.
        """
        assert command[:1] == ["run"], f"not a juju run: {command}"
        options = ["--format=json", f"--wait={CALL_TIMEOUT}s"]
        code, stdout, stderr = await tried_juju(
            self.ops_test, "run", *options, *command[1:], timeout=CALL_TIMEOUT + POLL
        )
        return parse_juju_run(code, stdout, stderr)

    async def run_action(self, unit: str, action: str, params: Mapping[str, str]) -> ActionOutcome:
        """Run ``action`` on ``unit``; ``params`` go in a YAML file, so each stays a string.

        (``key=value`` words would be read as YAML: ``title=yes`` a boolean.)
        The file is where the juju snap can read it, when juju is the snap.
        """
        where = SNAP_JUJU_DIR if SNAP_JUJU_DIR.is_dir() else None
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=where, encoding="utf-8") as file:
            yaml.safe_dump(dict(params), file)
            file.flush()
            return await self.juju_run(["run", unit, action, f"--params={file.name}"])

    async def add_unit(self) -> str:
        """``juju add-unit`` once; the new unit's name, as soon as Juju knows it."""
        model = self.ops_test.model
        assert model is not None
        before = set(await self.units())
        await juju(self.ops_test, "add-unit", self.app)
        await model.block_until(
            lambda: len(model.applications[self.app].units) > len(before), timeout=SETTLE_TIMEOUT
        )
        (new,) = set(await self.units()) - before
        return new

    async def probe_boot_id(self, unit: str) -> str | None:
        """The unit's boot id, or None while ``juju exec`` cannot reach it (a reboot)."""
        code, boot_id, _ = await tried_juju(
            self.ops_test,
            *("exec", "--unit", unit, f"--wait={REBOOT_PROBE_TIMEOUT}s"),
            *("--", commands.boot_id()),
            timeout=REBOOT_PROBE_TIMEOUT + 30,
        )
        return boot_id if code == 0 else None

    async def set_mode(self, mode: str) -> None:
        """Change the config and wait for the charm to serve that mode."""
        assert self.ops_test.model is not None
        app = self.ops_test.model.applications[self.app]
        await bounded(app.set_config({"mode": mode}), f"setting mode={mode}")
        await self.settle(message=f"serving in {mode} mode")

    async def deploy_as_the_readme_says(self, variant: str, charm: Path) -> None:
        """Deploy ``charm`` with the README's own ``juju deploy``; return once Juju knows the unit.

        The README's command sets no config, so the unit starts in the default mode.
        """
        model = self.ops_test.model
        assert model is not None
        await juju(self.ops_test, *readme_commands.deploy_command(variant, charm))
        await model.block_until(
            lambda: bool(self.app in model.applications and model.applications[self.app].units),
            timeout=SETTLE_TIMEOUT,
        )

    async def configure_as_the_readme_says(self) -> str:
        """Run the README's ``juju config`` for this application; the mode it sets."""
        command = readme_commands.config_command(self.app)
        await juju(self.ops_test, *command)
        (mode,) = (word.split("=", 1)[1] for word in command if word.startswith("mode="))
        await self.settle(message=f"serving in {mode} mode")
        return mode

    async def request_mode(self, mode: str) -> None:
        """Set the ``mode`` config, waiting for nothing."""
        assert self.ops_test.model is not None
        app = self.ops_test.model.applications[self.app]
        await bounded(app.set_config({"mode": mode}), f"setting mode={mode}")

    async def status_message(self, unit: str | None = None) -> str:
        """The workload status message of ``unit`` (the unit under test)."""
        assert self.ops_test.model is not None
        wanted = unit or self.unit
        units = self.ops_test.model.applications[self.app].units
        (found,) = (shown for shown in units if shown.name == wanted)
        return found.workload_status_message

    async def refresh(self, charm: Path) -> None:
        """Refresh to ``charm`` and wait until the unit itself runs the new revision."""
        before = (await status(self.ops_test))["applications"][self.app]["charm-rev"]
        assert self.ops_test.model is not None
        app = self.ops_test.model.applications[self.app]
        await bounded(app.refresh(path=charm), f"refreshing {self.app}")

        async def upgraded() -> bool:
            shown = (await status(self.ops_test))["applications"][self.app]
            units = shown.get("units", {})
            pending = any("upgrading-from" in unit for unit in units.values())
            return shown["charm-rev"] != before and bool(units) and not pending

        await poll_until(upgraded, f"{self.unit} running the refreshed charm")
