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
    TIMEOUT,
    DeployedBlog,
    assert_invalid_mode_blocks_and_changes_nothing,
    assert_repeated_hooks_add_no_start,
    assert_toggles_restart_once,
    count_starts,
    juju,
    parse_health,
    poll_until,
)

pytestmark = pytest.mark.k8s
APP = "example-blog-k8s"
UNIT = f"{APP}/0"
POD = f"{APP}-0"
IMAGE = "ubuntu/python:3.12-24.04_stable"
# The workload image is chiselled (no shell, no coreutils), so every look inside it goes
# through the charm container: same pod network, and Pebble's client with the workload's socket.
PEBBLE = "PEBBLE_SOCKET=/charm/containers/blog/pebble.socket /charm/bin/pebble"


@pytest.fixture(scope="module")
async def blog(ops_test: OpsTest) -> DeployedBlog:
    """The Kubernetes charm's unit; starts are counted in this pod's Pebble log."""
    await require_model_type(ops_test, "caas")

    async def health() -> dict[str, Any]:
        return parse_health(await in_charm_container(ops_test, f"python3 -c {HEALTH!r}"))

    async def starts_in_this_pod() -> int:
        # Pebble's log buffer begins empty in every new pod.
        log = await in_charm_container(ops_test, f"{PEBBLE} logs example-blog -n all")
        return count_starts(log)

    return DeployedBlog(ops_test, APP, health, starts_in_this_pod)


async def in_charm_container(ops_test: OpsTest, command: str) -> str:
    return await juju(ops_test, "ssh", UNIT, "--", command)


async def mode_file(ops_test: OpsTest) -> str:
    read = "print(open('/etc/example_blog/mode').read())"
    return (await in_charm_container(ops_test, f"{PEBBLE} exec -- python3 -c {read!r}")).strip()


async def pod_uid(ops_test: OpsTest) -> str:
    assert ops_test.model is not None
    pod = await AsyncClient().get(Pod, POD, namespace=ops_test.model.info.name)
    assert pod.metadata is not None
    assert pod.metadata.uid is not None
    return pod.metadata.uid


@pytest.mark.abort_on_fail
async def test_deploy_starts_once(ops_test: OpsTest, blog: DeployedBlog):
    assert ops_test.model is not None
    charm = await charm_for(ops_test, "k8s")
    await ops_test.model.deploy(
        charm, application_name=APP, config={"mode": "test"}, resources={"blog-image": IMAGE}
    )
    await blog.settle()

    assert (await blog.health())["mode"] == "test"
    assert await blog.starts() == 1
    assert await mode_file(ops_test) == "test"


async def test_repeated_hooks_add_no_start(blog: DeployedBlog):
    await assert_repeated_hooks_add_no_start(
        blog, ("config-changed", "update-status", "blog-pebble-ready")
    )


async def test_toggle_restarts_once_each_way(blog: DeployedBlog):
    await assert_toggles_restart_once(blog)


async def test_invalid_mode_blocks_and_changes_nothing(blog: DeployedBlog):
    await assert_invalid_mode_blocks_and_changes_nothing(blog)


async def test_pod_reschedule_starts_once_and_never_restarts(
    ops_test: OpsTest, blog: DeployedBlog
):
    """A deleted pod comes back with an empty filesystem; the blog must start once, in the mode."""
    assert ops_test.model is not None
    await blog.set_mode("production")
    old_uid = await pod_uid(ops_test)
    await AsyncClient().delete(Pod, POD, namespace=ops_test.model.info.name)

    async def replaced() -> bool:
        try:
            return await pod_uid(ops_test) != old_uid
        except Exception:  # the pod is briefly absent while it is recreated
            return False

    await poll_until(replaced, timeout=TIMEOUT)
    await blog.settle()

    assert await mode_file(ops_test) == "production"
    assert (await blog.health())["mode"] == "production"
    assert await blog.starts() == 1


async def test_refresh_adds_no_start(ops_test: OpsTest, blog: DeployedBlog):
    assert ops_test.model is not None
    before = await blog.health()
    await ops_test.model.applications[APP].refresh(path=await charm_for(ops_test, "k8s"))
    await blog.settle()

    assert (await blog.health())["start_id"] == before["start_id"]
