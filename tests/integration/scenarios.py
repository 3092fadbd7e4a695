"""Every integration scenario, written once against :class:`Deployment`, for any driver of Juju.

A scenario says what a user does (the README's deploy, config and ``add-post``,
a mode toggled, a bad value, a refresh, a reboot, a pod deleted, a second unit)
and what must then hold; how a command reaches Juju is the driver's.
:class:`~tests.integration.juju_helpers.DeployedBlog` (python-libjuju,
pytest-operator) is one driver, :class:`tests.integration_jubilant.driver.JubilantBlog`
(jubilant, the juju CLI) the other; each test module of either tier only picks
a scenario and hands it its driver (``tests/repo/test_integration_drivers.py``
holds both tiers to that). So this module imports no Juju client and no pytest:
it is plain asserts over the protocol, and its constants are also checked
against the real charm by the real-substrate tier
(``tests/substrate/test_unit_commands.py``).

Concurrency: scenarios are coroutines on an async protocol. python-libjuju is
async and bound to the event loop pytest-operator runs, so its driver awaits it
there unchanged; jubilant is synchronous (one ``juju`` process a call), so its
driver runs each call in a worker thread (``asyncio.to_thread``) whose process
is itself bounded, and the jubilant tests drive the scenario on one event loop
per module. Making the scenarios synchronous instead would have the libjuju
driver call back into a loop it is already running in.

Every look inside a unit is a command of :mod:`tests.integration.unit_commands`;
every wait is the driver's, and bounded there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from tests.integration import readme_commands
from tests.integration import unit_commands as commands

ADD_POST: Final = "add-post"
# The hooks a unit runs again and again; each must find everything right and start nothing.
MACHINE_HOOKS: Final = ("config-changed", "update-status", "start")
K8S_HOOKS: Final = ("config-changed", "update-status", commands.PEBBLE_READY)
# The README's post, and the file the charm names after its title (the README says so too).
README_POST_FILE: Final = "hello.txt"


@dataclass(frozen=True)
class PostSpec:
    """A post a scenario adds, and the file name the charm makes of its title."""

    title: str
    file_name: str
    first_body: str
    second_body: str = ""

    @property
    def first_params(self) -> dict[str, str]:
        """The action's parameters for the post as first written."""
        return {"title": self.title, "body": self.first_body}

    @property
    def second_params(self) -> dict[str, str]:
        """The same title again, with another body: a post the action must refuse."""
        return {"title": self.title, "body": self.second_body}


# Titles no other scenario uses, so that the scenarios run in any order on one unit.
REFUSED: Final = PostSpec(
    title="Written Once",
    file_name="written-once.txt",
    first_body="The first text stays.",
    second_body="The second text is refused.",
)
NEW_UNIT_POST: Final = PostSpec(
    title="Only On The New Unit",
    file_name="only-on-the-new-unit.txt",
    first_body="Each unit has posts of its own.",
)


def refusal(file_name: str) -> str:
    """The failure message of an ``add-post`` whose file name is taken."""
    return f"a post named {file_name} exists: choose another title"


def post_file(file_name: str) -> str:
    """Where the action reports it wrote a post."""
    return f"{commands.POSTS_DIR}/{file_name}"


@dataclass(frozen=True)
class ActionOutcome:
    """How one action ended, as Juju reports it: its status, results and failure message.

    ``results`` are the charm's own (without Juju's ``return-code``,
    ``stdout`` and ``stderr``); ``message`` is empty unless the action failed.
    """

    status: str
    results: Mapping[str, str] = field(default_factory=dict[str, str])
    message: str = ""


class Deployment(Protocol):
    """One deployed application on a real Juju, as the scenarios drive it.

    Every method is bounded by the driver: a hung controller fails the test
    with what it waited for, never hangs the suite.
    """

    @property
    def app(self) -> str:
        """The application's name."""
        ...

    @property
    def unit(self) -> str:
        """Its first unit (``app/0``), which every module's tests deploy."""
        ...

    async def units(self) -> list[str]:
        """Every unit of the application, by number."""
        ...

    async def run(self, script: str, unit: str | None = None) -> str:
        """``juju exec`` a command of :mod:`unit_commands` on ``unit`` (the first); its output."""
        ...

    async def starts(self, unit: str | None = None) -> int:
        """The blog's starts on ``unit``: in this boot on a machine, in this pod on Kubernetes."""
        ...

    async def incarnation(self, unit: str | None = None) -> str:
        """What names the unit's boot or pod: new after a reboot or a reschedule, only then."""
        ...

    async def juju_run(self, command: Sequence[str]) -> ActionOutcome:
        """A user's ``juju run UNIT ACTION key=value...`` (words after ``juju``), waited for."""
        ...

    async def run_action(self, unit: str, action: str, params: Mapping[str, str]) -> ActionOutcome:
        """Run ``action`` on ``unit``, each of ``params`` a string as given; waited for."""
        ...

    async def set_mode(self, mode: str) -> None:
        """Configure ``mode`` and wait until every unit serves it."""
        ...

    async def settle(self, status: str = "active", message: str | None = None) -> None:
        """Wait until every unit shows ``message`` (if given), then is idle in ``status``."""
        ...

    async def add_unit(self) -> str:
        """``juju add-unit`` once; the new unit's name, as soon as Juju knows it."""
        ...

    async def reboot(self, unit: str) -> None:
        """Reboot the unit's machine; return once ``juju exec`` reaches it in its new boot."""
        ...

    async def reschedule(self, unit: str) -> None:
        """Delete the unit's pod; return once its replacement runs, every container ready."""
        ...

    async def replaced(self, unit: str, old: str) -> None:
        """Kubernetes: wait for a pod of ``unit`` other than incarnation ``old``, all ready."""
        ...

    async def health(self) -> dict[str, Any]:
        """The blog's own ``/health`` report, read on the first unit."""
        ...

    async def hook(self, name: str) -> None:
        """Run one of the charm's hooks on the first unit now, as the agent would."""
        ...

    async def request_mode(self, mode: str) -> None:
        """Set the ``mode`` config and wait for nothing (a bad value's scenario waits itself)."""
        ...

    async def status_message(self, unit: str | None = None) -> str:
        """The workload status message of ``unit`` (the first), as Juju shows it now."""
        ...

    async def deploy_as_the_readme_says(self, variant: str, charm: Path) -> None:
        """The README's ``juju deploy`` of ``charm``; return once Juju knows the unit."""
        ...

    async def configure_as_the_readme_says(self) -> str:
        """The README's ``juju config``, waited for; the mode it sets."""
        ...

    async def refresh(self, charm: Path) -> None:
        """Refresh to ``charm``; return once the unit runs the new revision."""
        ...


async def front_page(blog: Deployment, unit: str | None = None) -> commands.FrontPage:
    """The front page the unit's blog serves, read inside the unit."""
    return commands.parse_front_page(await blog.run(commands.front_page(), unit))


async def served_mode(blog: Deployment, unit: str | None = None) -> str:
    """The mode the unit's running blog reports on ``/health``."""
    return str(commands.parse_health(await blog.run(commands.health(), unit))["mode"])


def assert_added(outcome: ActionOutcome, file_name: str) -> None:
    """The action succeeded and reported the file the title names."""
    assert (outcome.status, dict(outcome.results)) == (
        "completed",
        {"file": post_file(file_name)},
    ), outcome


def assert_shown_once(page: commands.FrontPage, title: str, body: str) -> None:
    """A production page (no test banner) shows the post once, exactly as it was written."""
    assert not page.test_mode, "the page is test mode's"
    assert page.titled(title) == [commands.Post(title, body)], page


async def add_readme_post(blog: Deployment) -> dict[str, str]:
    """Add a post with the README's own ``juju run UNIT add-post``; its parameters."""
    command = readme_commands.add_post_command(blog.unit)
    params = readme_commands.action_params(command)
    assert_added(await blog.juju_run(command), README_POST_FILE)
    assert_shown_once(await front_page(blog), params["title"], params["body"])
    return params


async def assert_readme_post_served_again_in_a_new_pod(blog: Deployment) -> None:
    """Kubernetes: a post survives a deleted pod, and the new pod's blog starts once to serve it.

    The storage outlives the pod; the new pod's filesystem starts empty, so
    the charm must write the mode file again from the config and start the
    blog exactly once, in production mode, with the post on its page.
    """
    await blog.set_mode("production")
    params = await add_readme_post(blog)
    old_pod = await blog.incarnation()

    await blog.reschedule(blog.unit)
    await blog.settle(message="serving in production mode")

    new_pod = await blog.incarnation()
    assert new_pod != old_pod
    assert_shown_once(await front_page(blog), params["title"], params["body"])
    assert await served_mode(blog) == "production"
    assert await blog.run(commands.pebble_mode_file()) == "production\n"
    assert await blog.starts() == 1, "the new pod's own start, and no other"
    assert await blog.incarnation() == new_pod, "the pod changed again"


async def assert_readme_post_served_again_after_a_reboot(blog: Deployment) -> None:
    """A machine: a post survives a reboot, served by systemd's own start at boot, none added.

    The charm's hooks after the reboot (``start``, ``config-changed``) find
    the mode file and the unit as they were and start nothing.
    """
    await blog.set_mode("production")
    params = await add_readme_post(blog)
    old_boot = await blog.incarnation()

    await blog.reboot(blog.unit)
    await blog.settle(message="serving in production mode")

    new_boot = await blog.incarnation()
    assert new_boot != old_boot
    assert_shown_once(await front_page(blog), params["title"], params["body"])
    assert await served_mode(blog) == "production"
    assert await blog.run(commands.machine_mode_file()) == "production\n"
    assert await blog.starts() == 1, "systemd's start at boot, and none by the charm"
    assert await blog.incarnation() == new_boot, "the machine rebooted again"


async def assert_taken_name_is_refused_and_the_first_post_kept(blog: Deployment) -> None:
    """A second ``add-post`` of the same title fails with the reason and changes nothing."""
    await blog.set_mode("production")
    post = REFUSED
    starts = await blog.starts()
    assert_added(await blog.run_action(blog.unit, ADD_POST, post.first_params), post.file_name)

    refused = await blog.run_action(blog.unit, ADD_POST, post.second_params)

    assert (refused.status, refused.message) == ("failed", refusal(post.file_name)), refused
    assert_shown_once(await front_page(blog), post.title, post.first_body)
    assert await blog.starts() == starts, "an action restarts nothing"


async def assert_a_second_unit_starts_once_with_posts_of_its_own(blog: Deployment) -> None:
    """Scaling to two: the first unit is left alone, the new one starts once with empty storage.

    Each unit has its own posts storage, so a post added on one is not
    served by the other. Run once per model, last: it leaves two units.
    """
    await blog.set_mode("production")
    (first,) = await blog.units()
    starts, incarnation = await blog.starts(first), await blog.incarnation(first)
    kept = await front_page(blog, first)

    new = await blog.add_unit()
    await blog.settle(message="serving in production mode")

    assert await blog.units() == [first, new]
    assert await blog.starts(first) == starts, "the existing unit was restarted"
    assert await blog.incarnation(first) == incarnation
    assert await front_page(blog, first) == kept
    assert await blog.starts(new) == 1
    assert await served_mode(blog, new) == "production"
    assert await front_page(blog, new) == commands.FrontPage(test_mode=False, posts=())

    post = NEW_UNIT_POST
    assert_added(await blog.run_action(new, ADD_POST, post.first_params), post.file_name)

    assert_shown_once(await front_page(blog, new), post.title, post.first_body)
    assert (await front_page(blog, first)).titled(post.title) == []


async def assert_machine_deploy_starts_once(blog: Deployment, charm: Path) -> None:
    """The README's deploy: one start by systemd, in test mode, the process systemd runs."""
    await blog.deploy_as_the_readme_says("machine", charm)
    await blog.settle(message="serving in test mode")

    health = await blog.health()
    unit = commands.parse_systemd_unit(await blog.run(commands.systemd_unit()))
    assert health["mode"] == "test"
    assert str(health["pid"]) == unit["MainPID"]
    assert await blog.starts() == 1
    assert await blog.run(commands.machine_mode_file()) == "test\n"


async def assert_k8s_deploy_starts_once(blog: Deployment, charm: Path) -> None:
    """The README's deploy: one Pebble start, in test mode, the mode file in the workload."""
    await blog.deploy_as_the_readme_says("k8s", charm)
    await blog.settle(message="serving in test mode")

    assert (await blog.health())["mode"] == "test"
    assert await blog.starts() == 1
    assert await blog.run(commands.pebble_mode_file()) == "test\n"


async def assert_readme_configure_restarts_once(blog: Deployment) -> None:
    """The README's ``juju config`` switches the blog to production with exactly one start."""
    starts = await blog.starts()
    mode = await blog.configure_as_the_readme_says()

    assert mode == "production"
    assert (await blog.health())["mode"] == mode
    assert await blog.starts() == starts + 1


async def assert_repeated_hooks_add_no_start(blog: Deployment, hooks: Sequence[str]) -> None:
    """Hooks that find everything right must leave the running process alone."""
    await blog.set_mode("test")
    before, starts = await blog.health(), await blog.starts()
    for hook in hooks:
        await blog.hook(hook)
    await blog.settle(message=f"serving in {before['mode']} mode")

    assert (await blog.health())["start_id"] == before["start_id"]
    assert await blog.starts() == starts


async def assert_toggles_restart_once(blog: Deployment) -> None:
    """Each real mode change is exactly one new start, in the new mode."""
    await blog.set_mode("test")
    starts = await blog.starts()
    seen = {(await blog.health())["start_id"]}
    for mode in ("production", "test"):
        await blog.set_mode(mode)
        starts += 1
        health = await blog.health()
        assert health["mode"] == mode
        assert health["start_id"] not in seen
        assert await blog.starts() == starts
        seen.add(health["start_id"])


async def assert_invalid_mode_blocks_and_changes_nothing(blog: Deployment) -> None:
    """A bad value blocks the unit and touches nothing; fixing it back restarts nothing."""
    await blog.set_mode("test")
    before = await blog.health()
    await blog.request_mode("Production")
    await blog.settle(status="blocked")
    assert "'Production'" in await blog.status_message()
    assert (await blog.health())["start_id"] == before["start_id"]

    await blog.set_mode("test")
    assert (await blog.health())["start_id"] == before["start_id"]


async def assert_machine_refresh_adds_no_start(blog: Deployment, charm: Path) -> None:
    """A machine refresh replaces the charm, not the running blog."""
    await blog.set_mode("test")
    before, starts = await blog.health(), await blog.starts()

    await blog.refresh(charm)
    await blog.settle(message="serving in test mode")

    assert (await blog.health())["start_id"] == before["start_id"]
    assert await blog.starts() == starts


async def assert_deleted_mode_file_is_rewritten_with_one_start(blog: Deployment) -> None:
    """A mode file deleted by hand is written again at the next hook, with one start."""
    await blog.set_mode("test")
    starts = await blog.starts()
    await blog.run(commands.delete_machine_mode_file())

    await blog.hook("update-status")
    await blog.settle(message="serving in test mode")

    assert await blog.run(commands.machine_mode_file()) == "test\n"
    assert await blog.starts() == starts + 1


async def assert_reboot_adds_no_start(blog: Deployment) -> None:
    """After a reboot systemd starts the blog once; the charm's post-reboot hooks add none."""
    await blog.set_mode("test")

    await blog.reboot(blog.unit)
    # The agent runs start (and config-changed) after the reboot; both find nothing to do.
    await blog.settle(message="serving in test mode")

    assert await blog.starts() == 1
    assert (await blog.health())["mode"] == "test"


async def assert_fresh_pod_started_once(blog: Deployment, old_pod: str, mode: str) -> None:
    """A new pod (not ``old_pod``): one start there, in ``mode``, and no container restarted."""
    await blog.settle(message=f"serving in {mode} mode")

    new_pod = await blog.incarnation()
    assert new_pod != old_pod
    assert await blog.run(commands.pebble_mode_file()) == f"{mode}\n"
    assert (await blog.health())["mode"] == mode
    assert await blog.starts() == 1
    assert await blog.incarnation() == new_pod, "the pod changed again, or a container restarted"


async def assert_pod_reschedule_starts_once_in_the_new_pod(blog: Deployment) -> None:
    """A deleted pod comes back with an empty filesystem; the blog must start once, in the mode."""
    await blog.set_mode("production")
    old = await blog.incarnation()

    await blog.reschedule(blog.unit)

    await assert_fresh_pod_started_once(blog, old, "production")


async def assert_k8s_refresh_rolls_the_pod_and_starts_once(blog: Deployment, charm: Path) -> None:
    """On Kubernetes a refresh replaces the pod (Juju changes its template): one start there."""
    await blog.set_mode("test")
    old = await blog.incarnation()

    await blog.refresh(charm)
    await blog.replaced(blog.unit, old)

    await assert_fresh_pod_started_once(blog, old, "test")
