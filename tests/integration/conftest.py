"""Fixtures for the real-Juju tier: which charm to deploy, and when to skip.

These tests need a bootstrapped Juju controller: an LXD one for the machine
charm (``-m machine``) and a microk8s one for the Kubernetes charm
(``-m k8s``). Without one every test skips with the reason, never passes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from pytest_operator.plugin import OpsTest

from tools.assemble import assemble


def _controller_problem() -> str | None:
    if shutil.which("juju") is None:
        return "no juju CLI on PATH: these tests need a bootstrapped Juju controller"
    try:
        subprocess.run(["juju", "show-controller"], check=True, capture_output=True, timeout=60)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        return f"no reachable Juju controller (juju show-controller: {e})"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the whole tier, with the reason, where no controller can be reached."""
    integration = [item for item in items if "tests/integration" in str(item.path)]
    if not integration:
        return
    problem = _controller_problem()
    if problem:
        for item in integration:
            item.add_marker(pytest.mark.skip(reason=problem))


async def charm_for(ops_test: OpsTest, variant: str) -> Path:
    """The packed charm of a variant: ``EXAMPLE_BLOG_<VARIANT>_CHARM`` if set, else packed now."""
    packed = os.environ.get(f"EXAMPLE_BLOG_{variant.upper()}_CHARM")
    if packed:
        return Path(packed).resolve()
    project = assemble(variant, Path(tempfile.mkdtemp(prefix=f"example-blog-{variant}-")))
    return await ops_test.build_charm(project)


async def require_model_type(ops_test: OpsTest, model_type: str) -> None:
    """Skip unless the test model is of the right kind (``iaas`` machines, ``caas`` Kubernetes)."""
    code, stdout, stderr = await ops_test.juju("show-model", "--format=json")
    assert code == 0, f"juju show-model failed: {stderr}"
    (model,) = json.loads(stdout).values()
    if model["model-type"] != model_type:
        pytest.skip(
            f"needs a {model_type} model; the current controller made {model['model-type']}"
        )
