"""Whether a Juju controller can be reached; both integration tiers skip with the reason if not."""

from __future__ import annotations

import shutil
import subprocess
from typing import Final

# How long `juju show-controller` may take to answer.
PROBE_TIMEOUT: Final = 60
WHY_NEEDED: Final = {
    "juju": "these tests need a bootstrapped Juju controller",
    "charmcraft": "pytest-operator needs it, even for packed charms",
}


def controller_problem(tools: tuple[str, ...] = ("juju",)) -> str | None:
    """Why the tier cannot run here (a tool missing, no controller answering), or None."""
    for tool in tools:
        if shutil.which(tool) is None:
            return f"no {tool} CLI on PATH: {WHY_NEEDED[tool]}"
    try:
        subprocess.run(
            ["juju", "show-controller"], check=True, capture_output=True, timeout=PROBE_TIMEOUT
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        return f"no reachable Juju controller (juju show-controller: {e})"
    return None
