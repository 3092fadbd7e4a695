"""The jubilant driver's juju calls, offline: recorded by its CLI wrapper, checked against Juju.

A fake ``juju`` stands behind the driver's real wrapper (``bounded_cli``): it
answers ``status`` with JSON built from jubilant's own status types, ``exec``
with a task, anything else with nothing. The driver's calls are then checked
against the Juju 3.6 CLI table read from Juju's source at a release commit.
The table for 4.0 is made the same way (``tools/juju-cli-table``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import jubilant
import pytest

from tests.integration_jubilant.bounded_cli import write_cli_binary
from tests.integration_jubilant.cli_table import check, table, unknown

APP = "example-blog"
# What `juju status --format=json` holds of a settled unit, as jubilant reads it (the keys
# its statustypes require); the integration workflow uploads a real one per run to compare.
STATUS = {
    "model": {
        "name": "m",
        "type": "iaas",
        "controller": "c",
        "cloud": "lxd",
        "version": "3.6.11",
        "model-status": {"current": "available"},
    },
    "machines": {},
    "applications": {
        APP: {
            "charm": "local:example-blog-0",
            "charm-name": "example-blog",
            "charm-origin": "local",
            "charm-rev": 0,
            "base": {"name": "ubuntu", "channel": "24.04"},
            "exposed": False,
            "application-status": {"current": "active"},
            "units": {
                f"{APP}/0": {
                    "workload-status": {"current": "active", "message": "serving in test mode"},
                    "juju-status": {"current": "idle"},
                }
            },
        }
    },
}
TASK = {f"{APP}/0": {"id": "1", "status": "completed", "results": {"stdout": "ok\n"}}}
FAKE_JUJU = """#!/bin/sh
# A juju that answers status and exec as a settled unit would, and anything else with nothing.
case $1 in
    status) cat "$(dirname "$0")/status.json" ;;
    exec) cat "$(dirname "$0")/task.json" ;;
esac
"""


def test_a_status_sample_reads_back_through_jubilants_own_types():
    status = jubilant.Status._from_dict(STATUS)

    unit = status.apps[APP].units[f"{APP}/0"]
    assert (unit.workload_status.current, unit.juju_status.current) == ("active", "idle")
    assert unit.workload_status.message == "serving in test mode"


@pytest.fixture
def driven(tmp_path: Path) -> tuple[jubilant.Juju, Path]:
    """A jubilant.Juju on the driver's recording wrapper, a fake juju behind it."""
    fake = tmp_path / "fake" / "juju"
    fake.parent.mkdir()
    fake.write_text(FAKE_JUJU)
    fake.chmod(0o755)
    (fake.parent / "status.json").write_text(json.dumps(STATUS))
    (fake.parent / "task.json").write_text(json.dumps(TASK))
    record = tmp_path / "calls.jsonl"
    wrapper = write_cli_binary(tmp_path / "bin", juju=str(fake), timeout=30, record=record)
    return jubilant.Juju(model="m", cli_binary=str(wrapper)), record


def test_the_drivers_calls_are_all_known_to_juju_3_6(
    driven: tuple[jubilant.Juju, Path], monkeypatch: pytest.MonkeyPatch
):
    from tests.integration_jubilant import driver
    from tests.integration_jubilant.driver import JubilantBlog

    juju, record = driven
    # jubilant's wait wants three settled statuses in a row, this far apart.
    monkeypatch.setattr(driver, "POLL", 0.01)

    async def starts(_: str) -> int:
        return 1

    async def boot(_: str) -> str:
        return "boot"

    blog = JubilantBlog(juju, APP, starts, boot)

    async def drive() -> None:
        await blog.request_mode("test")
        await blog.settle("active", "serving in test mode")
        assert (await blog.run("echo ok")).strip() == "ok"
        assert await blog.probe_boot_id(f"{APP}/0") is not None

    asyncio.run(drive())

    calls = [json.loads(line) for line in record.read_text().splitlines()]
    assert {call[0] for call in calls} >= {"config", "status", "exec"}
    assert check(record, "3.6") == []


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (["ssh-into", "x/0"], "juju ssh-into: no such command in Juju 3.6.11"),
        (["exec", "--unit", "x/0", "--operator-mode", "--", "id"], "juju exec --operator-mode"),
    ],
    ids=["command", "flag"],
)
def test_a_command_or_flag_juju_does_not_have_is_caught(call: list[str], problem: str):
    [found] = unknown(call, table("3.6"))

    assert found.startswith(problem)


def test_a_value_flag_takes_its_value_and_arguments_after_the_separator_are_not_flags():
    assert (
        unknown(["exec", "--unit", "--weird-unit-name", "--", "ls", "--all"], table("3.6")) == []
    )


def test_a_line_without_a_table_says_how_to_make_one():
    with pytest.raises(FileNotFoundError, match="tools/juju-cli-table"):
        table("9.9")
