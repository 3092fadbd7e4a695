"""Property: whatever the configs, events and hand edits, restarts follow real changes only.

A small model predicts, step by step, how many starts and stops the service
manager must have seen; hypothesis searches for a sequence where the charm
disagrees with it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops import testing

from example_blog import MODES
from tests.unit.conftest import FakeSystemctl, K8sHarness, MachineHarness, with_mode
from workload import MODE_FILE

EVENTS = ("config_changed", "update_status", "upgrade_charm", "start")
CONFIGS = st.sampled_from([*MODES, "Test", " production", ""])


@dataclass(frozen=True)
class Step:
    """Set the config, maybe damage the mode file by hand, then run one event."""

    mode: str
    event: str
    damage: bool


STEPS = st.lists(
    st.builds(Step, mode=CONFIGS, event=st.sampled_from(EVENTS), damage=st.booleans()),
    min_size=1,
    max_size=12,
)


def check(harness: MachineHarness | K8sHarness, steps: list[Step], counts) -> None:
    state = testing.State(config={"mode": "test"}, containers=_containers(harness))
    running: str | None = None  # the mode the service runs with, per the model
    damaged = False
    expected_starts = expected_stops = 0
    for step in steps:
        path = harness.file(MODE_FILE)
        if step.damage and path.exists():
            path.write_text("garbage\n")
            damaged = True
        state = harness.run(getattr(harness.ctx.on, step.event)(), with_mode(state, step.mode))
        if step.mode in MODES:
            if running is None:
                expected_starts += 1
            elif step.mode != running or damaged:
                expected_starts += 1
                expected_stops += 1
            running, damaged = step.mode, False
            assert path.read_text() == f"{step.mode}\n"
        assert counts() == (expected_starts, expected_stops), steps


def _containers(harness: MachineHarness | K8sHarness) -> frozenset[testing.Container]:
    return frozenset({harness.container()} if isinstance(harness, K8sHarness) else ())


def _reset(harness: MachineHarness | K8sHarness) -> None:
    for child in harness.root.iterdir():
        shutil.rmtree(child)
    if isinstance(harness, MachineHarness):
        fresh = FakeSystemctl()
        harness.systemctl.active, harness.systemctl.enabled = fresh.active, fresh.enabled
        harness.systemctl.calls.clear()
    else:
        harness.pebble.calls.clear()


@pytest.mark.parametrize("variant", ["machine", "k8s"])
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_starts_and_stops_follow_real_changes_only(
    request: pytest.FixtureRequest, variant: str, steps: list[Step]
):
    harness: MachineHarness | K8sHarness = request.getfixturevalue(variant)
    _reset(harness)
    if isinstance(harness, MachineHarness):
        fake = harness.systemctl
        check(harness, steps, lambda: (fake.starts, fake.stops))
    else:
        calls = harness.pebble
        check(harness, steps, lambda: (calls.starts, calls.stops))
