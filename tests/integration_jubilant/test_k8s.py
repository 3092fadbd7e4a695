"""The Kubernetes charm's scenarios again, driven by jubilant: the same functions, test by test.

Each test has the name of its twin in ``tests/integration/test_k8s.py`` and runs the same
:mod:`tests.integration.scenarios` function. Pods are read and deleted with lightkube's
async client (:mod:`tests.integration.pods`), made on the module's event loop.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import jubilant
import pytest
from lightkube import AsyncClient, KubeConfig

from tests.integration import pods, scenarios
from tests.integration import unit_commands as commands
from tests.integration_jubilant.conftest import Run, charm
from tests.integration_jubilant.driver import JubilantBlog

pytestmark = pytest.mark.k8s
APP = "example-blog-k8s"


@pytest.fixture(scope="module")
def kube(run: Run) -> Iterator[AsyncClient]:
    """A Kubernetes client on the module's loop: ``$KUBECONFIG``, else ``~/.kube/config``."""
    path = Path(os.environ.get("KUBECONFIG") or "~/.kube/config").expanduser()
    if not path.is_file():
        pytest.fail(f"no kubeconfig at {path}: `sudo microk8s config > ~/.kube/config`")

    async def make() -> AsyncClient:
        return AsyncClient(config=KubeConfig.from_file(path))

    client = run(make())
    yield client
    run(client.close())


@pytest.fixture(scope="module")
def blog(juju: jubilant.Juju, kube: AsyncClient) -> JubilantBlog:
    """The Kubernetes charm's units; starts counted in each pod's Pebble changes."""
    model = juju.show_model()
    if model.model_type != "caas":
        pytest.skip(f"needs a caas model; the current controller made {model.model_type}")
    namespace = model.short_name

    async def starts_in_this_pod(unit: str) -> int:
        changes = commands.parse_pebble_changes(
            await deployed.run(commands.pebble_changes(), unit)
        )
        return commands.pebble_starts(changes)

    async def pod(unit: str) -> str:
        return (await pods.pod_state(kube, namespace, pods.pod_name(unit))).incarnation

    async def reschedule(unit: str) -> None:
        new = await pods.delete_pod(kube, namespace, pods.pod_name(unit))
        assert set(new.restarts.values()) == {0}, new.restarts

    async def replaced(unit: str, old: str) -> None:
        new = await pods.new_pod(kube, namespace, pods.pod_name(unit), pods.uid_of(old))
        assert set(new.restarts.values()) == {0}, new.restarts

    deployed = JubilantBlog(juju, APP, starts_in_this_pod, pod, reschedule, replaced)
    return deployed


def test_deploy_starts_once(run: Run, blog: JubilantBlog):
    run(scenarios.assert_k8s_deploy_starts_once(blog, charm("k8s")))


def test_readme_configure_command_restarts_once(run: Run, blog: JubilantBlog):
    run(scenarios.assert_readme_configure_restarts_once(blog))


def test_repeated_hooks_add_no_start(run: Run, blog: JubilantBlog):
    run(scenarios.assert_repeated_hooks_add_no_start(blog, scenarios.K8S_HOOKS))


def test_toggle_restarts_once_each_way(run: Run, blog: JubilantBlog):
    run(scenarios.assert_toggles_restart_once(blog))


def test_invalid_mode_blocks_and_changes_nothing(run: Run, blog: JubilantBlog):
    run(scenarios.assert_invalid_mode_blocks_and_changes_nothing(blog))


def test_pod_reschedule_starts_once_in_the_new_pod(run: Run, blog: JubilantBlog):
    run(scenarios.assert_pod_reschedule_starts_once_in_the_new_pod(blog))


def test_refresh_rolls_the_pod_and_starts_once_in_the_new_one(run: Run, blog: JubilantBlog):
    run(scenarios.assert_k8s_refresh_rolls_the_pod_and_starts_once(blog, charm("k8s")))


def test_readme_post_is_served_again_by_a_new_pod_started_once(run: Run, blog: JubilantBlog):
    run(scenarios.assert_readme_post_served_again_in_a_new_pod(blog))


def test_add_post_refuses_a_taken_name_and_keeps_the_first(run: Run, blog: JubilantBlog):
    run(scenarios.assert_taken_name_is_refused_and_the_first_post_kept(blog))


# Last: it leaves the application with two units (two pods).
def test_a_second_unit_starts_once_with_posts_of_its_own(run: Run, blog: JubilantBlog):
    run(scenarios.assert_a_second_unit_starts_once_with_posts_of_its_own(blog))
