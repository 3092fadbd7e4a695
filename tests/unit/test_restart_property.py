"""Property: whatever the configs, events and hand edits, restarts follow real changes only.

A small model predicts, step by step, how many starts and stops the service
manager must have seen; hypothesis searches for a sequence where the charm
disagrees with it. The rule is the shared reconcile's, so it runs on the
Workload fake; ``test_state_machine.py`` searches each variant end to end.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from example_blog import MODES
from tests.support.charm_run import with_mode
from tests.support.workload_fake import SharedCharmRun
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


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_starts_and_stops_follow_real_changes_only(charm: SharedCharmRun, steps: list[Step]):
    starts_before, stops_before = charm.starts, charm.stops
    charm.wipe()
    state = charm.fresh("test")
    running: str | None = None  # the mode the service runs with, per the model
    damaged = False
    starts = stops = 0
    for step in steps:
        path = charm.file(MODE_FILE)
        if step.damage and path.exists():
            path.write_text("garbage\n")
            damaged = True
        state = charm.run(getattr(charm.ctx.on, step.event)(), with_mode(state, step.mode))
        if step.mode in MODES:
            if running is None:
                starts += 1
            elif step.mode != running or damaged:
                starts, stops = starts + 1, stops + 1
            running, damaged = step.mode, False
            assert path.read_text() == f"{step.mode}\n"
        seen = (charm.starts - starts_before, charm.stops - stops_before)
        assert seen == (starts, stops), steps
