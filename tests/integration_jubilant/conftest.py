"""Fixtures of the jubilant tier: the bounded, recorded juju, one event loop a module, the skip.

Without a reachable controller every test skips with the reason, as the pytest-operator
tier's do (the workflow then fails a run with any skip). The packed charms come from
``EXAMPLE_BLOG_<VARIANT>_CHARM``; this tier packs nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import jubilant
import pytest

from tests.integration.controller import controller_problem
from tests.integration.waits import CALL_TIMEOUT
from tests.integration_jubilant.bounded_cli import write_cli_binary

T = TypeVar("T")
# A call the wrapper lets run past Juju's own --wait before it cuts it off.
CLI_TIMEOUT = CALL_TIMEOUT + 30


class Run(Protocol):
    """Drive one scenario coroutine to its end on the module's event loop."""

    def __call__(self, scenario: Coroutine[Any, Any, T], /) -> T: ...


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--model``: the model to create and keep, as pytest-operator's option names it."""
    parser.addoption("--model", default="example-blog-jubilant", help="Juju model to deploy in")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the whole tier, with the reason, where no controller can be reached."""
    tier = [item for item in items if "tests/integration_jubilant" in str(item.path)]
    problem = controller_problem() if tier else None
    if problem:
        for item in tier:
            item.add_marker(pytest.mark.skip(reason=problem))


def charm(variant: str) -> Path:
    """The packed charm of a variant, from ``EXAMPLE_BLOG_<VARIANT>_CHARM``."""
    packed = os.environ.get(f"EXAMPLE_BLOG_{variant.upper()}_CHARM")
    if not packed:
        pytest.fail(f"set EXAMPLE_BLOG_{variant.upper()}_CHARM to the packed charm (tox -e pack)")
    return Path(packed).resolve()


@pytest.fixture(scope="session")
def juju(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> jubilant.Juju:
    """Jubilant on the test model (made if missing, kept after), through the bounded CLI."""
    real = shutil.which("juju")
    assert real is not None
    snap = "/snap/" in str(Path(real).resolve()) or real.startswith("/snap/")
    where = Path("~/snap/juju/common/example-blog-cli").expanduser() if snap else None
    record = Path(
        os.environ.get("EXAMPLE_BLOG_JUJU_RECORD")
        or tmp_path_factory.mktemp("cli") / "calls.jsonl"
    )
    binary = write_cli_binary(
        where or tmp_path_factory.mktemp("bin"), juju=real, timeout=CLI_TIMEOUT, record=record
    )
    model = str(request.config.getoption("--model"))
    client = jubilant.Juju(cli_binary=binary, wait_timeout=CALL_TIMEOUT)
    shown = json.loads(client.cli("models", "--format=json", include_model=False))
    if model not in {found.get("short-name") for found in shown.get("models", [])}:
        client.add_model(model)
    client.model = model
    return client


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    """One event loop for a module, so that its clients (lightkube's) outlive each test."""
    with asyncio.Runner() as runner:
        yield runner.run
