"""The Kubernetes charm on microk8s: restarts only on real changes, even after a reschedule."""

from __future__ import annotations

from typing import Any

import pytest
from lightkube import AsyncClient
from lightkube.resources.core_v1 import Pod
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

pytestmark = pytest.mark.k8s
APP = "example-blog-k8s"
UNIT = f"{APP}/0"
POD = f"{APP}-0"
IMAGE = "ubuntu/python:3.12-24.04_stable"
# The workload image is chiselled (no shell, no coreutils), so every look inside it goes
# through the charm container: same pod network, and Pebble's client with the workload's socket.
PEBBLE = "PEBBLE_SOCKET=/charm/containers/blog/pebble.socket /charm/bin/pebble"
TIMEOUT = 15 * 60


async def in_charm_container(ops_test: OpsTest, command: str) -> str:
    return await juju(ops_test, "ssh", UNIT, "--", command)


async def health(ops_test: OpsTest) -> dict[str, Any]:
    return parse_health(await in_charm_container(ops_test, f"python3 -c {HEALTH!r}"))


async def mode_file(ops_test: OpsTest) -> str:
    read = "print(open('/etc/example_blog/mode').read())"
    return (await in_charm_container(ops_test, f"{PEBBLE} exec -- python3 -c {read!r}")).strip()


async def starts_in_this_pod(ops_test: OpsTest) -> int:
    """Starts seen by this pod's Pebble (its log buffer begins empty in every new pod)."""
    return count_starts(await in_charm_container(ops_test, f"{PEBBLE} logs example-blog -n all"))


async def pod_uid(ops_test: OpsTest) -> str:
    assert ops_test.model is not None
    pod = await AsyncClient().get(Pod, POD, namespace=ops_test.model.info.name)
    assert pod.metadata is not None
    assert pod.metadata.uid is not None
    return pod.metadata.uid


async def settle(ops_test: OpsTest, status: str = "active") -> None:
    assert ops_test.model is not None
    await ops_test.model.wait_for_idle(apps=[APP], status=status, timeout=TIMEOUT)


@pytest.fixture(autouse=True, scope="module")
async def right_kind_of_model(ops_test: OpsTest) -> None:
    await require_model_type(ops_test, "caas")


@pytest.mark.abort_on_fail
async def test_deploy_starts_once(ops_test: OpsTest):
    assert ops_test.model is not None
    charm = await charm_for(ops_test, "k8s")
    await ops_test.model.deploy(
        charm,
        application_name=APP,
        config={"mode": "test"},
        resources={"blog-image": IMAGE},
        trust=False,
    )
    await settle(ops_test)

    assert (await health(ops_test))["mode"] == "test"
    assert await starts_in_this_pod(ops_test) == 1


async def test_repeated_hooks_and_refresh_add_no_start(ops_test: OpsTest):
    assert ops_test.model is not None
    before = await health(ops_test)
    for hook in ("config-changed", "update-status", "blog-pebble-ready"):
        await run_hook(ops_test, UNIT, hook)
    await settle(ops_test)

    assert (await health(ops_test))["start_id"] == before["start_id"]
    assert await starts_in_this_pod(ops_test) == 1


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
        assert await starts_in_this_pod(ops_test) == starts


async def test_pod_reschedule_starts_once_and_never_restarts(ops_test: OpsTest):
    """A deleted pod comes back with an empty filesystem; the blog must start once, in the mode."""
    assert ops_test.model is not None
    await ops_test.model.applications[APP].set_config({"mode": "production"})
    await settle(ops_test)
    old_uid = await pod_uid(ops_test)
    await AsyncClient().delete(Pod, POD, namespace=ops_test.model.info.name)

    async def replaced() -> bool:
        try:
            return await pod_uid(ops_test) != old_uid
        except Exception:  # the pod is briefly absent while it is recreated
            return False

    await poll_until(replaced, timeout=TIMEOUT)
    await settle(ops_test)

    assert await mode_file(ops_test) == "production"
    assert (await health(ops_test))["mode"] == "production"
    assert await starts_in_this_pod(ops_test) == 1


async def test_refresh_adds_no_start(ops_test: OpsTest):
    assert ops_test.model is not None
    before = await health(ops_test)
    await ops_test.model.applications[APP].refresh(path=await charm_for(ops_test, "k8s"))
    await settle(ops_test)

    assert (await health(ops_test))["start_id"] == before["start_id"]
