"""Compare two JUnit reports of the integration scenarios; exit 1 where they disagree.

Usage: python -m tests.integration.compare_results PYTEST_OPERATOR.xml JUBILANT.xml

The two tiers name each test alike (module and function), so a scenario is its test module's
last dotted name and the test's name (``test_machine::test_reboot_adds_no_start``). A
scenario in one report only, or with another outcome (passed, failed, error, skipped), is a
disagreement; so is a pair of reports with no scenario in common. On Juju 3.6, where both
drivers run, agreement says a jubilant failure on 4.0 is Juju's change, not the driver's.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def outcomes(report: Path) -> dict[str, str]:
    """Each test of a JUnit file, ``module::name``, and how it ended."""
    found: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):  # noqa: S314 (our own report)
        module = case.get("classname", "").rsplit(".", 1)[-1]
        ended = next(
            (child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed"
        )
        found[f"{module}::{case.get('name', '')}"] = ended
    return found


def disagreements(first: dict[str, str], second: dict[str, str]) -> list[str]:
    """What differs between two reports' outcomes, one line a scenario."""
    lines = [
        f"{name}: {first.get(name, 'absent')} vs {second.get(name, 'absent')}"
        for name in sorted(first.keys() | second.keys())
        if first.get(name) != second.get(name)
    ]
    if not first.keys() & second.keys():
        lines.append("no scenario is in both reports")
    return lines


def main(argv: list[str]) -> int:
    """Print each scenario's pair of outcomes where they differ; 1 if any does."""
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    first, second = (outcomes(Path(arg)) for arg in argv)
    found = disagreements(first, second)
    for line in found:
        print(line)
    print(f"{len(first.keys() & second.keys())} scenarios compared, {len(found)} disagreements")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
