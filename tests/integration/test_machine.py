"""The machine charm on a real Juju (LXD): restarts only on real changes, also across a reboot."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_operator.plugin import OpsTest

from tests.integration.conftest import charm_for, require_model_type
from tests.integration.juju_helpers import (
    HEALTH,
    TIMEOUT,
    DeployedBlog,
    assert_invalid_mode_blocks_and_changes_nothing,
    assert_repeated_hooks_add_no_start,
    assert_toggles_restart_once,
    count_starts,
    juju,
    parse_health,
    poll_until,
    run_hook,
)

pytestmark = pytest.mark.machine
APP = "example-blog"
UNIT = f"{APP}/0"


@pytest.fixture(scope="module")
async def blog(ops_test: OpsTest) -> DeployedBlog:
    """The machine charm's unit; looks inside go through ``juju ssh``."""
    await require_model_type(ops_test, "iaas")

    async def health() -> dict[str, Any]:
        return parse_health(await on_unit(ops_test, f"python3 -c {HEALTH!r}"))

    async def starts_this_boot() -> int:
        log = await on_unit(ops_test, "sudo journalctl -b -u example-blog --no-pager")
        return count_starts(log)

    return DeployedBlog(ops_test, APP, health, starts_this_boot)


async def on_unit(ops_test: OpsTest, command: str) -> str:
    return await juju(ops_test, "ssh", UNIT, "--", command)


@pytest.mark.abort_on_fail
async def test_deploy_starts_once(ops_test: OpsTest, blog: DeployedBlog):
    assert ops_test.model is not None
    charm = await charm_for(ops_test, "machine")
    await ops_test.model.deploy(charm, application_name=APP, config={"mode": "test"})
    await blog.settle()

    assert (await blog.health())["mode"] == "test"
    assert await blog.starts() == 1
    assert (await on_unit(ops_test, "cat /etc/example_blog/mode")).strip() == "test"


async def test_repeated_hooks_add_no_start(blog: DeployedBlog):
    await assert_repeated_hooks_add_no_start(blog, ("config-changed", "update-status", "start"))


async def test_refresh_adds_no_start(ops_test: OpsTest, blog: DeployedBlog):
    assert ops_test.model is not None
    before = await blog.health()
    await ops_test.model.applications[APP].refresh(path=await charm_for(ops_test, "machine"))
    await blog.settle()

    assert (await blog.health())["start_id"] == before["start_id"]


async def test_toggle_restarts_once_each_way(blog: DeployedBlog):
    await assert_toggles_restart_once(blog)


async def test_invalid_mode_blocks_and_changes_nothing(blog: DeployedBlog):
    await assert_invalid_mode_blocks_and_changes_nothing(blog)


async def test_deleted_mode_file_is_rewritten_with_one_start(
    ops_test: OpsTest, blog: DeployedBlog
):
    starts = await blog.starts()
    await on_unit(ops_test, "sudo rm /etc/example_blog/mode")
    await run_hook(ops_test, UNIT, "update-status")
    await blog.settle()

    assert (await on_unit(ops_test, "cat /etc/example_blog/mode")).strip() == "test"
    assert await blog.starts() == starts + 1


async def test_reboot_adds_no_start(ops_test: OpsTest, blog: DeployedBlog):
    """After a reboot systemd starts the blog once; the charm's post-reboot hooks add none."""
    boot_before = await on_unit(ops_test, "cat /proc/sys/kernel/random/boot_id")
    await ops_test.juju("ssh", UNIT, "--", "sudo systemctl reboot")  # the connection drops

    async def rebooted() -> bool:
        code, boot_id, _ = await ops_test.juju(
            "ssh", UNIT, "--", "cat /proc/sys/kernel/random/boot_id"
        )
        return code == 0 and boot_id != boot_before

    await poll_until(rebooted, timeout=TIMEOUT)
    await blog.settle()

    assert await blog.starts() == 1
    assert (await blog.health())["mode"] == "test"
