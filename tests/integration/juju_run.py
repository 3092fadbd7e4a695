"""What ``juju run --format=json`` reports of one action, read the same for every driver.

Both drivers run a user's ``juju run`` as the CLI command it is, so one parser serves them.
"""

from __future__ import annotations

import json
from typing import Any

from tests.integration.scenarios import ActionOutcome

# What Juju adds to an action's results besides the charm's own.
JUJU_RESULT_KEYS = ("return-code", "stdout", "stderr")


def parse_juju_run(code: int, stdout: str, stderr: str) -> ActionOutcome:
    """What ``juju run --format=json`` reported of its one task, failed or not.

    Juju exits non-zero when the task failed, and prints the task all the
    same; a call that printed no task (cut off, a bad unit) fails the test.
    """
    try:
        shown: dict[str, Any] = json.loads(stdout) if stdout.strip() else {}
    except json.JSONDecodeError:
        shown = {}
    assert len(shown) == 1, f"juju run exited {code} and reported no one task: {stdout}{stderr}"
    (task,) = shown.values()
    results = {
        str(key): str(value)
        for key, value in (task.get("results") or {}).items()
        if key not in JUJU_RESULT_KEYS
    }
    outcome = ActionOutcome(str(task["status"]), results, str(task.get("message") or ""))
    assert code == 0 or outcome.status != "completed", f"juju run exited {code}: {stderr}"
    return outcome
