"""The machine charm's scenarios again, driven by jubilant: the same functions, test by test.

Each test has the name of its twin in ``tests/integration/test_machine.py`` and runs the same
:mod:`tests.integration.scenarios` function, so that the two tiers' JUnit reports can be
compared per scenario (``python -m tests.integration.compare_results``).
"""

from __future__ import annotations

import jubilant
import pytest

from tests.integration import scenarios
from tests.integration import unit_commands as commands
from tests.integration_jubilant.conftest import Run, charm
from tests.integration_jubilant.driver import JubilantBlog

pytestmark = pytest.mark.machine
APP = "example-blog"


@pytest.fixture(scope="module")
def blog(juju: jubilant.Juju) -> JubilantBlog:
    """The machine charm's units; starts counted in systemd's journal of this boot."""
    if juju.show_model().model_type != "iaas":
        pytest.skip(
            f"needs an iaas model; the current controller made {juju.show_model().model_type}"
        )

    async def starts_this_boot(unit: str) -> int:
        output = await deployed.run(commands.systemd_starts(), unit)
        return len(commands.parse_systemd_starts(output))

    async def boot(unit: str) -> str:
        return (await deployed.run(commands.boot_id(), unit)).strip()

    deployed = JubilantBlog(juju, APP, starts_this_boot, boot)
    return deployed


def test_deploy_starts_once(run: Run, blog: JubilantBlog):
    run(scenarios.assert_machine_deploy_starts_once(blog, charm("machine")))


def test_readme_configure_command_restarts_once(run: Run, blog: JubilantBlog):
    run(scenarios.assert_readme_configure_restarts_once(blog))


def test_repeated_hooks_add_no_start(run: Run, blog: JubilantBlog):
    run(scenarios.assert_repeated_hooks_add_no_start(blog, scenarios.MACHINE_HOOKS))


def test_refresh_adds_no_start(run: Run, blog: JubilantBlog):
    run(scenarios.assert_machine_refresh_adds_no_start(blog, charm("machine")))


def test_toggle_restarts_once_each_way(run: Run, blog: JubilantBlog):
    run(scenarios.assert_toggles_restart_once(blog))


def test_invalid_mode_blocks_and_changes_nothing(run: Run, blog: JubilantBlog):
    run(scenarios.assert_invalid_mode_blocks_and_changes_nothing(blog))


def test_deleted_mode_file_is_rewritten_with_one_start(run: Run, blog: JubilantBlog):
    run(scenarios.assert_deleted_mode_file_is_rewritten_with_one_start(blog))


def test_reboot_adds_no_start(run: Run, blog: JubilantBlog):
    run(scenarios.assert_reboot_adds_no_start(blog))


def test_readme_post_is_served_again_after_a_reboot_with_no_start_added(
    run: Run, blog: JubilantBlog
):
    run(scenarios.assert_readme_post_served_again_after_a_reboot(blog))


def test_add_post_refuses_a_taken_name_and_keeps_the_first(run: Run, blog: JubilantBlog):
    run(scenarios.assert_taken_name_is_refused_and_the_first_post_kept(blog))


# Last: it leaves the application with two units.
def test_a_second_unit_starts_once_with_posts_of_its_own(run: Run, blog: JubilantBlog):
    run(scenarios.assert_a_second_unit_starts_once_with_posts_of_its_own(blog))
