"""The unit tier's runs of each variant, for the designs to run on.

The designs call systemd and Pebble through the shipped seam, so they run
on the variants' faked service managers (``tests/support/service_managers.py``),
as the shipped charms do in their own tests.
"""

from __future__ import annotations

import pytest

from tests.support.charm_run import CharmRun

# The fixtures themselves, so that the designs meet the same fakes as the shipped charms.
from tests.unit.conftest import k8s, machine

__all__ = ["k8s", "machine", "variant"]


@pytest.fixture(params=["machine", "k8s"])
def variant(request: pytest.FixtureRequest) -> CharmRun:
    """Each variant in turn: its entrypoint, on its own service manager."""
    return request.getfixturevalue(request.param)
