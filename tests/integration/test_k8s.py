"""The Kubernetes charm on microk8s: restarts only on real changes, even after a reschedule.

Starts are counted in Pebble's own record: the "Start service" changes the
charm made in the current pod (Pebble keeps them, unlike its bounded log
buffer), cross-checked with the blog's ``start_id``, and with the pod's UID and
its containers' restart counts, so that a new pod or a restarted container is
never mistaken for the old one. Every look inside goes through the charm
container (``juju exec`` of :mod:`tests.integration.unit_commands`): it shares
the pod's network, and its Pebble client reaches the workload's Pebble. The
posts scenarios (a post across a deleted pod, a refused name, a second unit)
are :mod:`tests.integration.scenarios`', run here through :class:`DeployedBlog`,
which deletes pods with lightkube (:mod:`tests.integration.pods`).
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from lightkube import AsyncClient
from lightkube.resources.core_v1 import Pod
from pytest_operator.plugin import OpsTest

from tests.integration import pods, scenarios
from tests.integration import unit_commands as commands
from tests.integration.conftest import charm_for, require_model_type
from tests.integration.juju_helpers import (
    DeployedBlog,
    assert_invalid_mode_blocks_and_changes_nothing,
    assert_readme_configure_restarts_once,
    assert_repeated_hooks_add_no_start,
    assert_toggles_restart_once,
    bounded,
)

pytestmark = pytest.mark.k8s
APP = "example-blog-k8s"
POD = pods.pod_name(f"{APP}/0")


def namespace(ops_test: OpsTest) -> str:
    assert ops_test.model is not None
    return ops_test.model.info.name


@pytest_asyncio.fixture(scope="module")
async def blog(ops_test: OpsTest, kube: AsyncClient) -> DeployedBlog:
    """The Kubernetes charm's units; starts counted in each pod's Pebble changes."""
    await require_model_type(ops_test, "caas")

    async def starts_in_this_pod(unit: str) -> int:
        changes = commands.parse_pebble_changes(
            await deployed.run(commands.pebble_changes(), unit)
        )
        return commands.pebble_starts(changes)

    async def pod(unit: str) -> str:
        return (await pods.pod_state(kube, namespace(ops_test), pods.pod_name(unit))).incarnation

    async def reschedule(unit: str) -> None:
        new = await pods.delete_pod(kube, namespace(ops_test), pods.pod_name(unit))
        assert set(new.restarts.values()) == {0}, new.restarts

    deployed = DeployedBlog(ops_test, APP, starts_in_this_pod, pod, reschedule)
    return deployed


async def assert_fresh_pod_started_once(
    blog: DeployedBlog, kube: AsyncClient, ops_test: OpsTest, old_uid: str, mode: str
) -> None:
    """A new pod: one start, in ``mode``, and no container restarted."""
    state = await pods.new_pod(kube, namespace(ops_test), POD, old_uid)
    await blog.settle(message=f"serving in {mode} mode")

    current = await pods.pod_state(kube, namespace(ops_test), POD)
    assert current.uid == state.uid, "the pod changed again"
    assert set(state.restarts.values()) == {0}, state.restarts
    assert await blog.run(commands.pebble_mode_file()) == f"{mode}\n"
    assert (await blog.health())["mode"] == mode
    assert await blog.starts() == 1


@pytest.mark.abort_on_fail
async def test_deploy_starts_once(ops_test: OpsTest, blog: DeployedBlog):
    assert ops_test.model is not None
    charm = await charm_for(ops_test, "k8s")
    await blog.deploy_as_the_readme_says("k8s", charm)
    await blog.settle(message="serving in test mode")

    assert (await blog.health())["mode"] == "test"
    assert await blog.starts() == 1
    assert await blog.run(commands.pebble_mode_file()) == "test\n"


async def test_readme_configure_command_restarts_once(blog: DeployedBlog):
    await assert_readme_configure_restarts_once(blog)


async def test_repeated_hooks_add_no_start(blog: DeployedBlog):
    await blog.set_mode("test")
    await assert_repeated_hooks_add_no_start(
        blog, ("config-changed", "update-status", commands.PEBBLE_READY)
    )


async def test_toggle_restarts_once_each_way(blog: DeployedBlog):
    await assert_toggles_restart_once(blog)


async def test_invalid_mode_blocks_and_changes_nothing(blog: DeployedBlog):
    await assert_invalid_mode_blocks_and_changes_nothing(blog)


async def test_pod_reschedule_starts_once_in_the_new_pod(
    ops_test: OpsTest, blog: DeployedBlog, kube: AsyncClient
):
    """A deleted pod comes back with an empty filesystem; the blog must start once, in the mode."""
    await blog.set_mode("production")
    old = await pods.pod_state(kube, namespace(ops_test), POD)

    await bounded(kube.delete(Pod, POD, namespace=namespace(ops_test)), f"deleting {POD}")

    await assert_fresh_pod_started_once(blog, kube, ops_test, old.uid, "production")


async def test_refresh_rolls_the_pod_and_starts_once_in_the_new_one(
    ops_test: OpsTest, blog: DeployedBlog, kube: AsyncClient
):
    """On Kubernetes a refresh replaces the pod (Juju changes its template): one start there."""
    await blog.set_mode("test")
    old = await pods.pod_state(kube, namespace(ops_test), POD)

    await blog.refresh(await charm_for(ops_test, "k8s"))

    await assert_fresh_pod_started_once(blog, kube, ops_test, old.uid, "test")


async def test_readme_post_is_served_again_by_a_new_pod_started_once(blog: DeployedBlog):
    await scenarios.assert_readme_post_served_again_in_a_new_pod(blog)


async def test_add_post_refuses_a_taken_name_and_keeps_the_first(blog: DeployedBlog):
    await scenarios.assert_taken_name_is_refused_and_the_first_post_kept(blog)


# Last: it leaves the application with two units (two pods).
async def test_a_second_unit_starts_once_with_posts_of_its_own(blog: DeployedBlog):
    await scenarios.assert_a_second_unit_starts_once_with_posts_of_its_own(blog)
