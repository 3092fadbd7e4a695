"""The one reconcile both charms run: make the service match the config, statelessly.

The charm keeps no record of what it did before. Every time it runs it reads
what is really there (the files, the service definition, whether the service
runs) and acts on the difference. The order of actions keeps one invariant:

    a running service always runs with the inputs that are on disk.

So when inputs must change under a running service, the service is stopped
*before* they are written and started *after*. If anything fails part-way (a
systemctl error, Pebble going away), what is left is either the old service on
the old inputs, or a stopped service: both are states the next hook reads
correctly and finishes. Writing first and restarting after would leave new
inputs under an old process whenever the restart failed, and the next hook,
seeing the files already right, would never restart it.
"""

from __future__ import annotations

import enum

from workload import CODE_FILE, MODE_FILE, Drift, ManagedFile, ServiceInput, Workload, blog_code


class Outcome(enum.Enum):
    """What one reconcile did to the service."""

    UNCHANGED = "unchanged"
    # Only owners or permissions were put right; the service kept running.
    REPAIRED = "repaired"
    STARTED = "started"
    RESTARTED = "restarted"


def reconcile(workload: Workload, mode: str) -> Outcome:
    """Bring the code, service definition and mode file in line, then (re)start only if needed.

    Every input is read before anything is touched, and every stale one is
    written: there is no short-circuit that could leave a later input stale.
    """
    inputs: list[ServiceInput] = [
        ManagedFile(workload, CODE_FILE, blog_code()),
        workload.service_definition(),
        ManagedFile(workload, MODE_FILE, f"{mode}\n"),
    ]
    drifts = [(each, each.drift()) for each in inputs]
    stale = [each for each, drift in drifts if drift is Drift.CONTENT]
    repairs = [each for each, drift in drifts if drift is Drift.METADATA]
    running = workload.is_running()
    for each in repairs:
        each.repair()
    if running and not stale:
        return Outcome.REPAIRED if repairs else Outcome.UNCHANGED
    if running:
        workload.stop()
    for each in stale:
        each.apply()
    workload.start()
    return Outcome.RESTARTED if running else Outcome.STARTED
