"""Every snap the workflows have concierge install is pinned to a channel.

concierge installs the snap store's default of the day for whatever it is
not told: the day the default Juju track moves to 4, an unpinned run would
fail on python-libjuju's first call. So each job that runs ``concierge
prepare`` must name a channel for each of them, by concierge's
``CONCIERGE_<SNAP>_CHANNEL`` variable (in the workflow's, the job's or the
step's ``env``) or its ``--<snap>-channel`` flag. A variable reaches a
concierge run under ``sudo`` only when sudo is told to keep it: sudo resets
the environment.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
SNAPS = ("juju", "microk8s", "lxd", "charmcraft")


def unpinned(workflow: dict[str, Any]) -> list[str]:
    """``JOB: SNAP`` for each snap a job's ``concierge prepare`` leaves to the store's default."""
    found: list[str] = []
    for name, job in (workflow.get("jobs") or {}).items():
        for step in job.get("steps", []):
            script = step.get("run", "")
            if "concierge prepare" not in script:
                continue
            env = {**(workflow.get("env") or {}), **(job.get("env") or {}), **step.get("env", {})}
            for snap in SNAPS:
                variable = f"CONCIERGE_{snap.upper()}_CHANNEL"
                channel = str(env.get(variable, "")).strip()
                if f"--{snap}-channel" in script:
                    continue
                if not channel or not reaches_concierge(variable, script, env):
                    found.append(f"{name}: {snap}")
    return found


def reaches_concierge(variable: str, script: str, env: dict[str, Any]) -> bool:
    """Whether ``variable`` is in concierge's environment: no sudo, or a sudo that keeps it."""
    [line] = [line for line in script.splitlines() if "concierge prepare" in line]
    if "sudo" not in line.split("concierge prepare")[0]:
        return True
    kept = re.search(r"--preserve-env=(\S+)", line)
    if kept is None:
        return " -E " in line
    names = kept.group(1).strip("'\"")
    if names.startswith("$"):
        names = str(env.get(names.strip("${}"), ""))
    return variable in names.split(",")


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_every_concierge_run_pins_every_snap():
    runs = [path for path in sorted(WORKFLOWS.glob("*.yaml")) if "concierge" in path.read_text()]
    assert runs, "no workflow runs concierge"
    for path in runs:
        assert unpinned(load(path)) == [], path.name


@pytest.mark.parametrize("snap", SNAPS)
def test_a_workflow_without_a_channel_is_caught(snap: str):
    workflow = load(WORKFLOWS / "integration.yaml")
    variable = f"CONCIERGE_{snap.upper()}_CHANNEL"
    for scope in (workflow, *workflow["jobs"].values()):
        (scope.get("env") or {}).pop(variable, None)
        for step in scope.get("steps", []):
            (step.get("env") or {}).pop(variable, None)

    assert f"integration: {snap}" in unpinned(workflow)


def test_a_variable_that_sudo_drops_pins_nothing():
    workflow = load(WORKFLOWS / "integration.yaml")
    workflow["env"]["CONCIERGE_PINS"] = "CONCIERGE_JUJU_CHANNEL,CONCIERGE_LXD_CHANNEL"

    assert unpinned(workflow) == [
        f"{job}: {snap}"
        for job in ("integration", "jubilant")
        for snap in ("microk8s", "charmcraft")
    ]


def test_a_flag_pins_as_well_as_a_variable():
    workflow = {
        "jobs": {
            "j": {
                "steps": [
                    {"run": "concierge prepare -p machine --juju-channel 3.6/stable"},
                ]
            }
        },
        "env": {f"CONCIERGE_{snap.upper()}_CHANNEL": "x/stable" for snap in SNAPS[1:]},
    }

    assert unpinned(workflow) == []


def pinned_tracks(workflow: dict[str, Any]) -> set[str]:
    """Every track the workflow pins a snap to (``1.32`` of ``1.32-strict/stable``)."""
    scopes = [workflow, *(workflow.get("jobs") or {}).values()]
    values = [
        str(value)
        for scope in scopes
        for key, value in (scope.get("env") or {}).items()
        if key.startswith("CONCIERGE_") and key.endswith("_CHANNEL")
    ]
    for job in (workflow.get("jobs") or {}).values():
        matrix = (job.get("strategy") or {}).get("matrix") or {}
        # A job's Juju line, as a matrix of tracks (``CONCIERGE_JUJU_CHANNEL: ${{ ... }}/stable``).
        values += [f"{track}/stable" for track in matrix.get("juju", [])]
    return {value.split("/")[0].removesuffix("-strict") for value in values if "${{" not in value}


def test_the_readme_support_matrix_names_every_pinned_track():
    support = (WORKFLOWS.parents[1] / "README.md").read_text().split("\n## Support\n")[1]
    support = support.split("\n## ")[0]
    tracks = pinned_tracks(load(WORKFLOWS / "integration.yaml"))

    assert {"3.6", "4.0", "5.21", "1.32", "4.x"} <= tracks
    assert [track for track in sorted(tracks) if track not in support] == []
