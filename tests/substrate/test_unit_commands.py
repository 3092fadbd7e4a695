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

The posts scenarios add their posts with the ``add-post`` action (as ``juju
run`` has it run, through the real ``dispatch``) and read them back only with
the tier's own front-page command, so that what the Juju tests conclude from
a post on the page rests on a command and a parser proven here.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nocloud import nspawn, pebble_pod
from nocloud.hook_tools import ActionResult
from tests.integration import readme_commands, scenarios
from tests.integration import unit_commands as commands
from tests.substrate import k8s_unit
from tests.substrate.k8s_unit import K8sUnit
from tests.substrate.machine_unit import (
    HOOKS_TIMEOUT,
    UNIT_NAME,
    JujuUnit,
    MachineBlog,
    machine_container,
)

# The hooks a deploy runs, then those the integration tests run by hand.
DEPLOY = ("install", "config-changed", "start")
MACHINE_HOOKS = ("config-changed", "update-status", "start", "upgrade-charm")
K8S_HOOKS = ("config-changed", "update-status", commands.PEBBLE_READY, "upgrade-charm")
REBOOT_TIMEOUT = 30.0
# The storage the posts live in, as both charms' metadata names it.
POSTS = "posts"
# What a new pod runs, as in tests/substrate/test_pebble.py's reschedule.
K8S_RESCHEDULE = (
    "upgrade-charm",
    "config-changed",
    "start",
    commands.PEBBLE_READY,
    "update-status",
)


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


def assert_post_added(action: ActionResult, title: str, file_name: str) -> None:
    """The action reported the file the integration tier expects for ``title``."""
    assert action.failed is None, action
    assert action.results == {"file": f"{commands.POSTS_DIR}/{file_name}"}, (title, action)


def assert_on_the_page(page: commands.FrontPage, title: str, body: str) -> None:
    """Production's page: no test banner, and the post once, as it was written."""
    assert not page.test_mode
    assert page.titled(title) == [commands.Post(title, body)], page


# --- Machine: a booted systemd --------------------------------------------------------------


class DeployedMachine:
    """A booted machine with the charm deployed in Juju's layout, driven only by commands."""

    def __init__(self, container: nspawn.Container, juju_dir: Path):
        self.container = container
        self.unit = JujuUnit(container, juju_dir, {"mode": "test"})
        self.blog = MachineBlog(container)
        # Juju attaches the required posts storage before install; on LXD's
        # default pool (rootfs) it is a plain directory at its location.
        container.run(["mkdir", "-p", commands.POSTS_DIR])
        self.unit.juju.attach_storage(POSTS, commands.POSTS_DIR)

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

    def action(self, name: str, params: dict[str, str]) -> ActionResult:
        """Run an action as ``juju run`` has the unit agent run it; what it reported."""
        juju = self.unit.juju
        result = self.container.run(
            ["./dispatch"],
            env=juju.action_environment(UNIT_NAME, self.unit.charm_dir, name, params),
            cwd=self.unit.charm_dir,
            timeout=HOOKS_TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, f"{name} {params}: {result.stdout}{result.stderr}"
        return juju.action_result()

    def front_page(self) -> commands.FrontPage:
        """The front page as the integration tier reads it on the unit."""
        return commands.parse_front_page(self.run(commands.front_page()))


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


def reboot(machine: DeployedMachine) -> None:
    """The tier's reboot: ``juju exec`` returns at once, the machine goes down; boot it again."""
    began = time.monotonic()
    machine.run(commands.reboot())
    assert time.monotonic() - began < commands.REBOOT_DELAY, "juju exec would wait for it"

    deadline = time.monotonic() + REBOOT_TIMEOUT
    while machine.container.running:
        assert time.monotonic() < deadline, "the machine did not go down for its reboot"
        time.sleep(0.1)
    machine.container.kill()  # nspawn has exited; clear what it left before booting again
    machine.container.boot()


def test_machine_reboot_returns_at_once_and_the_machine_comes_back(machine: DeployedMachine):
    boot = machine.run(commands.boot_id()).strip()
    service = machine.blog.service()

    reboot(machine)

    assert machine.run(commands.boot_id()).strip() != boot
    starts = machine.starts()
    assert len(starts) == 1, "systemd starts the enabled blog once at boot"
    assert starts != [service.invocation_id]
    for hook in ("start", "config-changed"):
        machine.hook(hook)
    assert machine.starts() == starts


def test_machine_front_page_shows_the_samples_in_test_mode(machine: DeployedMachine):
    page = machine.front_page()

    assert page.test_mode
    assert page.posts
    assert all(post.title and post.body for post in page.posts), page


def test_machine_front_page_shows_a_post_added_in_production(machine: DeployedMachine):
    machine.unit.juju.set_config(mode="production")
    machine.hook("config-changed")
    assert machine.front_page() == commands.FrontPage(test_mode=False, posts=())
    params = readme_commands.action_params(readme_commands.add_post_command(UNIT_NAME))

    added = machine.action("add-post", params)

    assert_post_added(added, params["title"], scenarios.README_POST_FILE)
    assert_on_the_page(machine.front_page(), params["title"], params["body"])
    assert machine.blog.read(f"{commands.POSTS_DIR}/{scenarios.README_POST_FILE}") == (
        f"{params['title']}\n{params['body']}\n"
    )
    assert len(machine.starts()) == 2, "the action restarts nothing"


def test_machine_add_post_refuses_a_taken_name_and_keeps_the_first(machine: DeployedMachine):
    machine.unit.juju.set_config(mode="production")
    machine.hook("config-changed")
    post = scenarios.REFUSED
    assert_post_added(machine.action("add-post", post.first_params), post.title, post.file_name)

    refused = machine.action("add-post", post.second_params)

    assert refused.failed == scenarios.refusal(post.file_name)
    assert_on_the_page(machine.front_page(), post.title, post.first_body)


def test_machine_post_is_served_again_after_a_reboot(machine: DeployedMachine):
    machine.unit.juju.set_config(mode="production")
    machine.hook("config-changed")
    params = readme_commands.action_params(readme_commands.add_post_command(UNIT_NAME))
    machine.action("add-post", params)

    reboot(machine)
    for hook in ("start", "config-changed"):
        machine.hook(hook)

    assert_on_the_page(machine.front_page(), params["title"], params["body"])
    assert len(machine.starts()) == 1, "systemd's own start at boot, and none from the charm"


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

    def action(self, name: str, params: dict[str, str]) -> ActionResult:
        """Run an action in the charm container, as ``juju run`` has it run; what it reported."""
        _, action = self.unit.run_action(name, params)
        return action

    def front_page(self) -> commands.FrontPage:
        """The front page as the integration tier reads it in the charm container."""
        return commands.parse_front_page(self.run(commands.front_page()))


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


def test_k8s_front_page_shows_the_samples_in_test_mode(pod: DeployedPod):
    page = pod.front_page()

    assert page.test_mode
    assert page.posts
    assert all(post.title and post.body for post in page.posts), page


def test_k8s_post_is_served_in_production_and_again_in_a_new_pod(pod: DeployedPod):
    pod.unit.juju.set_config(mode="production")
    pod.hook("config-changed")
    assert pod.front_page() == commands.FrontPage(test_mode=False, posts=())
    params = readme_commands.action_params(readme_commands.add_post_command(k8s_unit.UNIT_NAME))

    added = pod.action("add-post", params)

    assert_post_added(added, params["title"], scenarios.README_POST_FILE)
    assert_on_the_page(pod.front_page(), params["title"], params["body"])
    stored = pod.unit.storage_dir(POSTS) / scenarios.README_POST_FILE
    assert stored.read_text(encoding="utf-8") == f"{params['title']}\n{params['body']}\n"
    assert pod.starts() == 2, "the action restarts nothing"

    pod.unit.reschedule()
    pod.unit.pod.start_workload()
    for hook in K8S_RESCHEDULE:
        pod.unit.run(hook)

    assert_on_the_page(pod.front_page(), params["title"], params["body"])
    assert pod.starts() == pod.unit.pod.pebble_record().starts == 1
    assert pod.run(commands.pebble_mode_file()) == "production\n"


def test_k8s_add_post_refuses_a_taken_name_and_keeps_the_first(pod: DeployedPod):
    pod.unit.juju.set_config(mode="production")
    pod.hook("config-changed")
    post = scenarios.REFUSED
    assert_post_added(pod.action("add-post", post.first_params), post.title, post.file_name)

    refused = pod.action("add-post", post.second_params)

    assert refused.failed == scenarios.refusal(post.file_name)
    assert_on_the_page(pod.front_page(), post.title, post.first_body)
    stored = pod.unit.storage_dir(POSTS) / post.file_name
    assert stored.read_text(encoding="utf-8") == f"{post.title}\n{post.first_body}\n"
