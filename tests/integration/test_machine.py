"""The machine charm on a real Juju (LXD): restarts only on real changes, also across a reboot.

Starts are counted by systemd itself: its "started" journal messages in the
current boot (one per start, each with the run's InvocationID), cross-checked
with the blog's own ``start_id``. Every command is ``juju exec`` of
:mod:`tests.integration.unit_commands`, as root on the machine. Every test is
one of :mod:`tests.integration.scenarios`, run here through :class:`DeployedBlog`
(``tests/integration_jubilant/test_machine.py`` runs the same ones with jubilant).
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from pytest_operator.plugin import OpsTest

from tests.integration import scenarios
from tests.integration import unit_commands as commands
from tests.integration.conftest import charm_for, require_model_type
from tests.integration.juju_helpers import DeployedBlog

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
    await scenarios.assert_machine_deploy_starts_once(blog, await charm_for(ops_test, "machine"))


async def test_readme_configure_command_restarts_once(blog: DeployedBlog):
    await scenarios.assert_readme_configure_restarts_once(blog)


async def test_repeated_hooks_add_no_start(blog: DeployedBlog):
    await scenarios.assert_repeated_hooks_add_no_start(blog, scenarios.MACHINE_HOOKS)


async def test_refresh_adds_no_start(ops_test: OpsTest, blog: DeployedBlog):
    charm = await charm_for(ops_test, "machine")
    await scenarios.assert_machine_refresh_adds_no_start(blog, charm)


async def test_toggle_restarts_once_each_way(blog: DeployedBlog):
    await scenarios.assert_toggles_restart_once(blog)


async def test_invalid_mode_blocks_and_changes_nothing(blog: DeployedBlog):
    await scenarios.assert_invalid_mode_blocks_and_changes_nothing(blog)


async def test_deleted_mode_file_is_rewritten_with_one_start(blog: DeployedBlog):
    await scenarios.assert_deleted_mode_file_is_rewritten_with_one_start(blog)


async def test_reboot_adds_no_start(blog: DeployedBlog):
    await scenarios.assert_reboot_adds_no_start(blog)


async def test_readme_post_is_served_again_after_a_reboot_with_no_start_added(
    blog: DeployedBlog,
):
    await scenarios.assert_readme_post_served_again_after_a_reboot(blog)


async def test_add_post_refuses_a_taken_name_and_keeps_the_first(blog: DeployedBlog):
    await scenarios.assert_taken_name_is_refused_and_the_first_post_kept(blog)


# Last: it leaves the application with two units.
async def test_a_second_unit_starts_once_with_posts_of_its_own(blog: DeployedBlog):
    await scenarios.assert_a_second_unit_starts_once_with_posts_of_its_own(blog)
