"""Fixtures for the real-Juju tier: which charm to deploy, when to skip, which kubeconfig.

These tests need a bootstrapped Juju controller: an LXD one for the machine
charm (``-m machine``) and a microk8s one for the Kubernetes charm
(``-m k8s``), and pytest-operator needs ``charmcraft`` on PATH even when the
charms come packed. Without either every test skips with the reason, never
passes.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from lightkube import AsyncClient, KubeConfig
from pytest_operator.plugin import OpsTest

from tests.integration.controller import controller_problem
from tests.integration.juju_helpers import bounded, juju
from tools.assemble import assemble

# charmcraft pack in LXD or Multipass: a first run also sets up the build image.
PACK_TIMEOUT = 30 * 60
# Each variant is packed at most once per run, however many tests refresh to it.
_packed: dict[str, Path] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the whole tier, with the reason, where no controller can be reached."""
    integration = [item for item in items if "tests/integration" in str(item.path)]
    if not integration:
        return
    problem = controller_problem(("juju", "charmcraft"))
    if problem:
        for item in integration:
            item.add_marker(pytest.mark.skip(reason=problem))


async def charm_for(ops_test: OpsTest, variant: str) -> Path:
    """The packed charm of a variant: ``EXAMPLE_BLOG_<VARIANT>_CHARM`` if set, else packed once."""
    packed = os.environ.get(f"EXAMPLE_BLOG_{variant.upper()}_CHARM")
    if packed:
        return Path(packed).resolve()
    if variant not in _packed:
        project = assemble(variant, Path(tempfile.mkdtemp(prefix=f"example-blog-{variant}-")))
        built = await bounded(ops_test.build_charm(project), f"packing {variant}", PACK_TIMEOUT)
        assert isinstance(built, Path)
        _packed[variant] = built
    return _packed[variant]


async def require_model_type(ops_test: OpsTest, model_type: str) -> None:
    """Skip unless the test model is of the right kind (``iaas`` machines, ``caas`` Kubernetes)."""
    (model,) = json.loads(await juju(ops_test, "show-model", "--format=json")).values()
    if model["model-type"] != model_type:
        pytest.skip(
            f"needs a {model_type} model; the current controller made {model['model-type']}"
        )


def kubeconfig_path() -> Path:
    """The kubeconfig the suite uses: ``$KUBECONFIG`` if set, else ``~/.kube/config``."""
    return Path(os.environ.get("KUBECONFIG") or "~/.kube/config").expanduser()


@pytest_asyncio.fixture(scope="module")
async def kube() -> AsyncIterator[AsyncClient]:
    """A Kubernetes client on the cluster the controller runs on; closed after the module."""
    path = kubeconfig_path()
    source = "KUBECONFIG" if os.environ.get("KUBECONFIG") else "the default path"
    if not path.is_file():
        pytest.fail(
            f"no kubeconfig at {path} ({source}): on microk8s write one with "
            "`sudo microk8s config > ~/.kube/config`, or point KUBECONFIG at the cluster's"
        )
    print(
        f"lightkube uses the kubeconfig {path} ({source})"
    )  # shown with -s, and in a failure's report
    client = AsyncClient(config=KubeConfig.from_file(path))
    try:
        yield client
    finally:
        await client.close()
