"""The mutation score of the charm code, and a failure for every mutant the tests let live.

Run by ``tox -e mutation`` after ``mutmut run`` and ``mutmut export-cicd-stats``,
from the project's root. A mutant that survives, that no test reaches, or that
ends in a timeout is a change to the charm that the unit tier would not notice:
the run fails until a test kills it or the line says, with ``# pragma: no
mutate`` and a reason beside it, why no test can.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

STATS = Path("mutants/mutmut-cicd-stats.json")
# What mutmut counts besides killed and skipped: each is a mutant the tests did not kill.
UNKILLED = ("survived", "no_tests", "timeout", "suspicious", "segfault")


def report(stats: dict[str, int]) -> tuple[str, bool]:
    """One line with the score, and whether every mutant was killed."""
    checked = stats["total"] - stats["skipped"]
    unkilled = {kind: stats[kind] for kind in UNKILLED if stats[kind]}
    score = 100 * stats["killed"] / checked if checked else 0.0
    line = f"mutation score {score:.1f}%: {stats['killed']} of {checked} mutants killed"
    if unkilled:
        line += " (not killed: " + ", ".join(f"{n} {kind}" for kind, n in unkilled.items()) + ")"
    return line, checked > 0 and not unkilled


def main() -> int:
    if not STATS.exists():
        print(f"{STATS} is missing: run `mutmut run` and `mutmut export-cicd-stats` first")
        return 1
    line, all_killed = report(json.loads(STATS.read_text(encoding="utf-8")))
    print(line)
    if not all_killed:
        print("see them with `mutmut results` and `mutmut show NAME` (in the tox env)")
    return 0 if all_killed else 1


if __name__ == "__main__":
    sys.exit(main())
