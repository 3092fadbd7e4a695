"""Every juju call the jubilant driver makes, checked against Juju's own CLI at a release.

The tables (``tests/integration/juju_cli/LINE.json``) hold each command of a
Juju release and its flags, read from Juju's source by ``tools/juju-cli-table``.
A call that names a command or a flag that release does not have would fail
only on a real controller; here it fails offline, from the calls the bounded
CLI wrapper records (``bounded_cli``). Run on a record as
``python -m tests.integration_jubilant.cli_table RECORD LINE``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

TABLES = Path(__file__).resolve().parents[1] / "integration" / "juju_cli"


def table(line: str) -> dict[str, Any]:
    """The CLI table of one Juju line; FileNotFoundError, naming how to make it, if none."""
    path = TABLES / f"{line}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no CLI table for Juju {line}: make it with tools/juju-cli-table")
    return json.loads(path.read_text(encoding="utf-8"))


def unknown(argv: list[str], cli: dict[str, Any]) -> list[str]:
    """What in one call (``juju ARGV...``) the release does not know: its command or flags."""
    command, *rest = argv
    known = cli["commands"].get(command)
    if known is None:
        return [f"juju {command}: no such command in Juju {cli['juju']}"]
    flags = {**cli["global_flags"], **known["flags"]}
    problems: list[str] = []
    words = iter(rest)
    for word in words:
        if word == "--":
            break
        if not word.startswith("-") or word == "-":
            continue
        name, has_value, _ = word.lstrip("-").partition("=")
        kind = flags.get(name)
        if kind is None:
            problems.append(f"juju {command} {word.split('=')[0]}: no such flag in {cli['juju']}")
        elif kind == "value" and not has_value:
            next(words, None)
    return problems


def check(record: Path, line: str) -> list[str]:
    """Every problem in a record of calls (one JSON list of arguments a line)."""
    cli = table(line)
    calls = [json.loads(text) for text in record.read_text(encoding="utf-8").splitlines() if text]
    return [problem for call in calls for problem in unknown(call, cli)]


def main(argv: list[str]) -> int:
    """Print each unknown command or flag; exit 1 if any, 2 without a table for the line."""
    record, line = argv
    try:
        problems = check(Path(record), line)
    except FileNotFoundError as e:
        print(e, file=sys.stderr)
        return 2
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
