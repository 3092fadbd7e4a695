"""Where a tier is required, a skip is a failure.

The tiers that need a real substrate or tool (``tests/substrate``: systemd and
Pebble; ``tests/pack``: charmcraft; ``tests/workflows``: actionlint, shellcheck
and zizmor; ``tests/quickstart``: a fresh Debian root) skip with the reason on
a machine that lacks it.
On the project's own CI machines they must run, so ``tools/test-all`` sets
``EXAMPLE_BLOG_REQUIRE_SUBSTRATE=1`` there and every such skip fails instead,
reason included. A CI run can then never pass on tests it did not run.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

import pytest

REQUIRE_ENV = "EXAMPLE_BLOG_REQUIRE_SUBSTRATE"
REQUIRED_TIERS = ("substrate", "pack", "workflows", "quickstart", "rename")
TESTS = Path(__file__).resolve().parent


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    """Turn the skip of a required tier's test into a failure that names the reason."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    tier = item.path.relative_to(TESTS).parts[0] if item.path.is_relative_to(TESTS) else ""
    if report.skipped and tier in REQUIRED_TIERS and os.environ.get(REQUIRE_ENV):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"{REQUIRE_ENV} is set, so this tier may not skip: {reason}"
