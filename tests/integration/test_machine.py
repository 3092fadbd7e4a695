"""The machine charm on a real Juju (LXD): restarts only on real changes, also across a reboot.

Starts are counted by systemd itself: its "started" journal messages in the
current boot (one per start, each with the run's InvocationID), cross-checked
with the blog's own ``start_id``. Every command is ``juju exec`` of
:mod:`tests.integration.unit_commands`, as root on the machine. The posts
scenarios (a post across a reboot, a refused name, a second unit) are
:mod:`tests.integration.scenarios`', run here through :class:`DeployedBlog`.
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from pytest_operator.plugin import OpsTest

from tests.integration import scenarios
from tests.integration import unit_commands as commands
from tests.integration.conftest import charm_for, require_model_type
from tests.integration.juju_helpers import (
    DeployedBlog,
    assert_invalid_mode_blocks_and_changes_nothing,
    assert_readme_configure_restarts_once,
    assert_repeated_hooks_add_no_start,
    assert_toggles_restart_once,
)

pytestmark = pytest.mark.machine
APP = "example-blog"


@pytest_asyncio.fixture(scope="module")
async def blog(ops_test: OpsTest) -> DeployedBlog:
    """The machine charm's units; starts counted in systemd's journal of this boot."""
    await require_model_type(ops_test, "iaas")

    async def starts_this_boot(unit: str) -> int:
        output = await deployed.run(commands.systemd_starts(), unit)
        return len(commands.parse_systemd_starts(output))

    async def boot(unit: str) -> str:
        return (await deployed.run(commands.boot_id(), unit)).strip()

    deployed = DeployedBlog(ops_test, APP, starts_this_boot, boot)
    return deployed


@pytest.mark.abort_on_fail
async def test_deploy_starts_once(ops_test: OpsTest, blog: DeployedBlog):
    assert ops_test.model is not None
    charm = await charm_for(ops_test, "machine")
    await blog.deploy_as_the_readme_says("machine", charm)
    await blog.settle(message="serving in test mode")

    health = await blog.health()
    unit = commands.parse_systemd_unit(await blog.run(commands.systemd_unit()))
    assert health["mode"] == "test"
    assert str(health["pid"]) == unit["MainPID"]
    assert await blog.starts() == 1
    assert await blog.run(commands.machine_mode_file()) == "test\n"


async def test_readme_configure_command_restarts_once(blog: DeployedBlog):
    await assert_readme_configure_restarts_once(blog)


async def test_repeated_hooks_add_no_start(blog: DeployedBlog):
    await blog.set_mode("test")
    await assert_repeated_hooks_add_no_start(blog, ("config-changed", "update-status", "start"))


async def test_refresh_adds_no_start(ops_test: OpsTest, blog: DeployedBlog):
    await blog.set_mode("test")
    before, starts = await blog.health(), await blog.starts()

    await blog.refresh(await charm_for(ops_test, "machine"))
    await blog.settle(message="serving in test mode")

    assert (await blog.health())["start_id"] == before["start_id"]
    assert await blog.starts() == starts


async def test_toggle_restarts_once_each_way(blog: DeployedBlog):
    await assert_toggles_restart_once(blog)


async def test_invalid_mode_blocks_and_changes_nothing(blog: DeployedBlog):
    await assert_invalid_mode_blocks_and_changes_nothing(blog)


async def test_deleted_mode_file_is_rewritten_with_one_start(blog: DeployedBlog):
    await blog.set_mode("test")
    starts = await blog.starts()
    await blog.run(commands.delete_machine_mode_file())

    await blog.hook("update-status")
    await blog.settle(message="serving in test mode")

    assert await blog.run(commands.machine_mode_file()) == "test\n"
    assert await blog.starts() == starts + 1


async def test_reboot_adds_no_start(blog: DeployedBlog):
    """After a reboot systemd starts the blog once; the charm's post-reboot hooks add none."""
    await blog.set_mode("test")

    await blog.reboot(blog.unit)
    # The agent runs start (and config-changed) after the reboot; both find nothing to do.
    await blog.settle(message="serving in test mode")

    assert await blog.starts() == 1
    assert (await blog.health())["mode"] == "test"


async def test_readme_post_is_served_again_after_a_reboot_with_no_start_added(
    blog: DeployedBlog,
):
    await scenarios.assert_readme_post_served_again_after_a_reboot(blog)


async def test_add_post_refuses_a_taken_name_and_keeps_the_first(blog: DeployedBlog):
    await scenarios.assert_taken_name_is_refused_and_the_first_post_kept(blog)


# Last: it leaves the application with two units.
async def test_a_second_unit_starts_once_with_posts_of_its_own(blog: DeployedBlog):
    await scenarios.assert_a_second_unit_starts_once_with_posts_of_its_own(blog)
