"""The Kubernetes charm on microk8s: restarts only on real changes, even after a reschedule.

Starts are counted in Pebble's own record: the "Start service" changes the
charm made in the current pod (Pebble keeps them, unlike its bounded log
buffer), cross-checked with the blog's ``start_id``, and with the pod's UID and
its containers' restart counts, so that a new pod or a restarted container is
never mistaken for the old one. Every look inside goes through the charm
container (``juju exec`` of :mod:`tests.integration.unit_commands`): it shares
the pod's network, and its Pebble client reaches the workload's Pebble. Every
test is one of :mod:`tests.integration.scenarios`, run here through
:class:`DeployedBlog`, which deletes pods with lightkube
(:mod:`tests.integration.pods`); ``tests/integration_jubilant/test_k8s.py`` runs
the same ones with jubilant.
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from lightkube import AsyncClient
from pytest_operator.plugin import OpsTest

from tests.integration import pods, scenarios
from tests.integration import unit_commands as commands
from tests.integration.conftest import charm_for, require_model_type
from tests.integration.juju_helpers import DeployedBlog

pytestmark = pytest.mark.k8s
APP = "example-blog-k8s"


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

    async def replaced(unit: str, old: str) -> None:
        new = await pods.new_pod(kube, namespace(ops_test), pods.pod_name(unit), pods.uid_of(old))
        assert set(new.restarts.values()) == {0}, new.restarts

    deployed = DeployedBlog(ops_test, APP, starts_in_this_pod, pod, reschedule, replaced)
    return deployed


@pytest.mark.abort_on_fail
async def test_deploy_starts_once(ops_test: OpsTest, blog: DeployedBlog):
    await scenarios.assert_k8s_deploy_starts_once(blog, await charm_for(ops_test, "k8s"))


async def test_readme_configure_command_restarts_once(blog: DeployedBlog):
    await scenarios.assert_readme_configure_restarts_once(blog)


async def test_repeated_hooks_add_no_start(blog: DeployedBlog):
    await scenarios.assert_repeated_hooks_add_no_start(blog, scenarios.K8S_HOOKS)


async def test_toggle_restarts_once_each_way(blog: DeployedBlog):
    await scenarios.assert_toggles_restart_once(blog)


async def test_invalid_mode_blocks_and_changes_nothing(blog: DeployedBlog):
    await scenarios.assert_invalid_mode_blocks_and_changes_nothing(blog)


async def test_pod_reschedule_starts_once_in_the_new_pod(blog: DeployedBlog):
    await scenarios.assert_pod_reschedule_starts_once_in_the_new_pod(blog)


async def test_refresh_rolls_the_pod_and_starts_once_in_the_new_one(
    ops_test: OpsTest, blog: DeployedBlog
):
    await scenarios.assert_k8s_refresh_rolls_the_pod_and_starts_once(
        blog, await charm_for(ops_test, "k8s")
    )


async def test_readme_post_is_served_again_by_a_new_pod_started_once(blog: DeployedBlog):
    await scenarios.assert_readme_post_served_again_in_a_new_pod(blog)


async def test_add_post_refuses_a_taken_name_and_keeps_the_first(blog: DeployedBlog):
    await scenarios.assert_taken_name_is_refused_and_the_first_post_kept(blog)


# Last: it leaves the application with two units (two pods).
async def test_a_second_unit_starts_once_with_posts_of_its_own(blog: DeployedBlog):
    await scenarios.assert_a_second_unit_starts_once_with_posts_of_its_own(blog)
