"""The machine charm on a real Juju (LXD): restarts only on real changes, also across a reboot."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_operator.plugin import OpsTest

from tests.integration.conftest import charm_for, require_model_type
from tests.integration.juju_helpers import (
    HEALTH,
    count_starts,
    juju,
    parse_health,
    poll_until,
    run_hook,
)

pytestmark = pytest.mark.machine
APP = "example-blog"
UNIT = f"{APP}/0"
TIMEOUT = 15 * 60


async def on_unit(ops_test: OpsTest, command: str) -> str:
    return await juju(ops_test, "ssh", UNIT, "--", command)


async def health(ops_test: OpsTest) -> dict[str, Any]:
    return parse_health(await on_unit(ops_test, f"python3 -c {HEALTH!r}"))


async def starts_this_boot(ops_test: OpsTest) -> int:
    return count_starts(await on_unit(ops_test, "sudo journalctl -b -u example-blog --no-pager"))


async def settle(ops_test: OpsTest, status: str = "active") -> None:
    assert ops_test.model is not None
    await ops_test.model.wait_for_idle(apps=[APP], status=status, timeout=TIMEOUT)


@pytest.fixture(autouse=True, scope="module")
async def right_kind_of_model(ops_test: OpsTest) -> None:
    await require_model_type(ops_test, "iaas")


@pytest.mark.abort_on_fail
async def test_deploy_starts_once(ops_test: OpsTest):
    assert ops_test.model is not None
    charm = await charm_for(ops_test, "machine")
    await ops_test.model.deploy(charm, application_name=APP, config={"mode": "test"})
    await settle(ops_test)

    assert (await health(ops_test))["mode"] == "test"
    assert await starts_this_boot(ops_test) == 1
    assert (await on_unit(ops_test, "cat /etc/example_blog/mode")).strip() == "test"


async def test_repeated_hooks_and_refresh_add_no_start(ops_test: OpsTest):
    assert ops_test.model is not None
    before = await health(ops_test)
    for hook in ("config-changed", "update-status", "start"):
        await run_hook(ops_test, UNIT, hook)
    await ops_test.model.applications[APP].refresh(path=await charm_for(ops_test, "machine"))
    await settle(ops_test)

    assert (await health(ops_test))["start_id"] == before["start_id"]
    assert await starts_this_boot(ops_test) == 1


async def test_toggle_restarts_once_each_way(ops_test: OpsTest):
    assert ops_test.model is not None
    application = ops_test.model.applications[APP]
    for mode, starts in (("production", 2), ("test", 3)):
        await application.set_config({"mode": mode})
        await ops_test.model.block_until(
            lambda mode=mode: (
                application.units[0].workload_status_message == f"serving in {mode} mode"
            ),
            timeout=TIMEOUT,
        )
        await settle(ops_test)
        assert (await health(ops_test))["mode"] == mode
        assert await starts_this_boot(ops_test) == starts


async def test_invalid_mode_blocks_and_changes_nothing(ops_test: OpsTest):
    assert ops_test.model is not None
    application = ops_test.model.applications[APP]
    before = await health(ops_test)
    await application.set_config({"mode": "Production"})
    await settle(ops_test, status="blocked")

    assert "'Production'" in application.units[0].workload_status_message
    assert (await health(ops_test))["start_id"] == before["start_id"]
    await application.set_config({"mode": "test"})
    await settle(ops_test)
    assert (await health(ops_test))["start_id"] == before["start_id"]


async def test_deleted_mode_file_is_rewritten_with_one_start(ops_test: OpsTest):
    starts = await starts_this_boot(ops_test)
    await on_unit(ops_test, "sudo rm /etc/example_blog/mode")
    await run_hook(ops_test, UNIT, "update-status")
    await settle(ops_test)

    assert (await on_unit(ops_test, "cat /etc/example_blog/mode")).strip() == "test"
    assert await starts_this_boot(ops_test) == starts + 1


async def test_reboot_adds_no_start(ops_test: OpsTest):
    """After a reboot systemd starts the blog once; the charm's post-reboot hooks add none."""
    assert ops_test.model is not None
    boot_before = await on_unit(ops_test, "cat /proc/sys/kernel/random/boot_id")
    await ops_test.juju("ssh", UNIT, "--", "sudo systemctl reboot")  # the connection drops

    async def rebooted() -> bool:
        code, boot_id, _ = await ops_test.juju(
            "ssh", UNIT, "--", "cat /proc/sys/kernel/random/boot_id"
        )
        return code == 0 and boot_id != boot_before

    await poll_until(rebooted, timeout=TIMEOUT)
    await settle(ops_test)
    boot_after = await on_unit(ops_test, "cat /proc/sys/kernel/random/boot_id")

    assert boot_after != boot_before
    assert await starts_this_boot(ops_test) == 1
    assert (await health(ops_test))["mode"] == "test"
