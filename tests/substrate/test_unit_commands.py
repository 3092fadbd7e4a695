"""Every command the integration tier sends into a unit, run as written on real service managers.

``tests/integration/unit_commands`` builds each command the Juju tests run
through ``juju exec`` and parses what it prints. Here the same strings run
where ``juju exec`` would run them, with only the environment it provides
(``nocloud.hook_tools.EXEC_ENVIRONMENT``, taken from Juju's hook context): on the
machine in a booted systemd container, as root, in the deployed charm's
directory; on Kubernetes in the charm container of an emulated pod, next to a
real Pebble. A hook run this way goes through the real ``dispatch`` and
``ops.main``, and must reach the handler of the event it names. The parsers
read what the real systemd and Pebble print, and their results are checked
against those managers' own records and the blog's ``/health``.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nocloud import nspawn, pebble_pod
from tests.integration import unit_commands as commands
from tests.substrate import k8s_unit
from tests.substrate.k8s_unit import K8sUnit
from tests.substrate.machine_unit import JujuUnit, MachineBlog, machine_container

# The hooks a deploy runs, then those the integration tests run by hand.
DEPLOY = ("install", "config-changed", "start")
MACHINE_HOOKS = ("config-changed", "update-status", "start", "upgrade-charm")
K8S_HOOKS = ("config-changed", "update-status", commands.PEBBLE_READY, "upgrade-charm")
REBOOT_TIMEOUT = 30.0


def emitted(log: str, hook: str) -> bool:
    """Whether ops logged that it handed the event of ``hook`` to the charm."""
    return f"Emitting Juju event {hook.replace('-', '_')}." in log


def succeeded(result: subprocess.CompletedProcess[str], script: str, log: str) -> str:
    """The output of a command that must succeed; else its output and what the charm logged."""
    assert result.returncode == 0, (
        f"juju exec -- {script!r} exited {result.returncode}:\n"
        f"{result.stdout}{result.stderr}\njuju-log:\n{log}"
    )
    return result.stdout


# --- Machine: a booted systemd --------------------------------------------------------------


class DeployedMachine:
    """A booted machine with the charm deployed in Juju's layout, driven only by commands."""

    def __init__(self, container: nspawn.Container, juju_dir: Path):
        self.container = container
        self.unit = JujuUnit(container, juju_dir, {"mode": "test"})
        self.blog = MachineBlog(container)

    def run(self, script: str) -> str:
        """``juju exec`` one of the integration tier's commands; its output."""
        logged = len(self.unit.juju.log)
        result = self.unit.juju_exec(script)
        return succeeded(result, script, self.unit.juju.log[logged:])

    def hook(self, name: str) -> None:
        """Run a hook the way the integration tests do; it must reach its handler."""
        logged = len(self.unit.juju.log)
        self.run(commands.hook(name))
        assert emitted(self.unit.juju.log[logged:], name), self.unit.juju.log[logged:]

    def starts(self) -> list[str]:
        """The integration tier's start count on the machine."""
        return commands.parse_systemd_starts(self.run(commands.systemd_starts()))


@pytest.fixture
def machine(root: Path, tmp_path: Path) -> Iterator[DeployedMachine]:
    juju_dir = tmp_path / "juju"
    juju_dir.mkdir()
    with machine_container(root, tmp_path / "machine", juju_dir=juju_dir) as container:
        container.boot()
        deployed = DeployedMachine(container, juju_dir)
        for hook in DEPLOY:
            deployed.hook(hook)
        yield deployed


def test_machine_hooks_through_juju_exec_reach_their_handlers(machine: DeployedMachine):
    assert machine.unit.juju.unit_status == ("active", "serving in test mode")
    before = machine.blog.service()

    for hook in MACHINE_HOOKS:
        machine.hook(hook)

    assert machine.blog.service().start == before.start


def test_machine_health_and_start_count_match_systemd_and_the_blog(machine: DeployedMachine):
    health = commands.parse_health(machine.run(commands.health()))
    unit = commands.parse_systemd_unit(machine.run(commands.systemd_unit()))

    seen = machine.blog.health()
    assert (health["mode"], health["pid"], health["start_id"]) == (
        seen.mode,
        seen.pid,
        seen.start_id,
    )
    assert str(health["pid"]) == unit["MainPID"]
    assert machine.starts() == [unit["InvocationID"]] == machine.blog.starts()
    assert (unit["ActiveState"], unit["SubState"], unit["NRestarts"]) == ("active", "running", "0")

    machine.unit.juju.set_config(mode="production")
    machine.hook("config-changed")

    after = commands.parse_health(machine.run(commands.health()))
    unit = commands.parse_systemd_unit(machine.run(commands.systemd_unit()))
    starts = machine.starts()
    assert after["mode"] == "production"
    assert after["start_id"] != health["start_id"]
    assert len(starts) == 2
    assert starts[-1] == unit["InvocationID"]
    assert machine.run(commands.machine_mode_file()) == "production\n"


def test_machine_deleted_mode_file_is_rewritten_on_the_next_hook(machine: DeployedMachine):
    machine.run(commands.delete_machine_mode_file())
    assert not machine.blog.exists(commands.MODE_FILE)

    machine.hook("update-status")

    assert machine.run(commands.machine_mode_file()) == "test\n"
    assert len(machine.starts()) == 2


def test_machine_reboot_returns_at_once_and_the_machine_comes_back(machine: DeployedMachine):
    boot = machine.run(commands.boot_id()).strip()
    service = machine.blog.service()

    began = time.monotonic()
    machine.run(commands.reboot())
    assert time.monotonic() - began < commands.REBOOT_DELAY, "juju exec would wait for it"

    deadline = time.monotonic() + REBOOT_TIMEOUT
    while machine.container.running:
        assert time.monotonic() < deadline, "the machine did not go down for its reboot"
        time.sleep(0.1)
    machine.container.kill()  # nspawn has exited; clear what it left before booting again
    machine.container.boot()

    assert machine.run(commands.boot_id()).strip() != boot
    starts = machine.starts()
    assert len(starts) == 1, "systemd starts the enabled blog once at boot"
    assert starts != [service.invocation_id]
    for hook in ("start", "config-changed"):
        machine.hook(hook)
    assert machine.starts() == starts


# --- Kubernetes: a real Pebble in an emulated pod --------------------------------------------


class DeployedPod:
    """The Kubernetes charm deployed in an emulated pod, driven only by commands."""

    def __init__(self, unit: K8sUnit):
        self.unit = unit

    def run(self, script: str) -> str:
        """``juju exec`` one of the integration tier's commands; its output."""
        logged = len(self.unit.juju.log)
        result = self.unit.pod.juju_exec(script)
        return succeeded(result, script, self.unit.juju.log[logged:])

    def hook(self, name: str) -> None:
        """Run a hook the way the integration tests do; it must reach its handler."""
        logged = len(self.unit.juju.log)
        self.run(commands.hook(name))
        assert emitted(self.unit.juju.log[logged:], name), self.unit.juju.log[logged:]

    def starts(self) -> int:
        """The integration tier's start count on Kubernetes."""
        return commands.pebble_starts(
            commands.parse_pebble_changes(self.run(commands.pebble_changes()))
        )


@pytest.fixture
def pod(pebble: Path, tmp_path: Path) -> Iterator[DeployedPod]:
    with K8sUnit(tmp_path, pebble, {"mode": "test"}) as unit:
        deployed = DeployedPod(unit)
        for hook in DEPLOY:
            deployed.hook(hook)
        unit.pod.start_workload()
        deployed.hook(commands.PEBBLE_READY)
        yield deployed


def test_k8s_hooks_through_juju_exec_reach_their_handlers(pod: DeployedPod):
    assert pod.unit.juju.unit_status == ("active", "serving in test mode")
    assert pod.starts() == 1

    for hook in K8S_HOOKS:
        pod.hook(hook)

    assert pod.starts() == 1


def test_k8s_health_start_count_and_mode_file_match_pebble_and_the_blog(pod: DeployedPod):
    workload = pod.unit.pod.workload
    assert workload is not None
    health = commands.parse_health(pod.run(commands.health()))
    service = commands.parse_pebble_service(pod.run(commands.pebble_service()))
    [api] = pebble_pod.pebble_api(
        pod.unit.pod.socket_path, "GET", f"/v1/services?names={commands.SERVICE}"
    )

    assert health == k8s_unit.health(workload, commands.PORT)
    assert (service.name, service.startup, service.current) == (
        commands.SERVICE,
        "enabled",
        "active",
    )
    # The CLI shows the time to the second, in UTC.
    assert service.since == api["current-since"][:19] + "Z"
    assert pod.starts() == pod.unit.pod.pebble_record().starts == 1
    assert pod.run(commands.pebble_mode_file()) == "test\n"

    pod.unit.juju.set_config(mode="production")
    pod.hook("config-changed")

    after = commands.parse_health(pod.run(commands.health()))
    assert after["mode"] == "production"
    assert after["start_id"] != health["start_id"]
    assert pod.starts() == pod.unit.pod.pebble_record().starts == 2
    assert pod.run(commands.pebble_mode_file()) == "production\n"
    since = commands.parse_pebble_service(pod.run(commands.pebble_service())).since
    [api] = pebble_pod.pebble_api(
        pod.unit.pod.socket_path, "GET", f"/v1/services?names={commands.SERVICE}"
    )
    assert since == api["current-since"][:19] + "Z"
