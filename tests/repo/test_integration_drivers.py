"""The two integration drivers run the same scenarios, and their reports compare per scenario.

Offline: no Juju. The layout proof reads both tiers' test modules (ast): each test of one
has its twin, by name, in the other, and both call the same one function of
:mod:`tests.integration.scenarios` and assert nothing themselves.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.integration import compare_results

ROOT = Path(__file__).resolve().parents[2]
TIERS = (ROOT / "tests" / "integration", ROOT / "tests" / "integration_jubilant")


def scenario_calls(module: Path) -> dict[str, list[str]]:
    """Each test function of a module and the ``scenarios.*`` functions it calls."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    found: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test_"
        ):
            assert not any(isinstance(n, ast.Assert) for n in ast.walk(node)), (
                f"{module.name}::{node.name} asserts by itself: the assertions belong in scenarios"
            )
            found[node.name] = [
                n.attr
                for n in ast.walk(node)
                if isinstance(n, ast.Attribute)
                and isinstance(n.value, ast.Name)
                and n.value.id == "scenarios"
                and n.attr.startswith("assert_")
            ]
    return found


@pytest.mark.parametrize("module", ["test_machine.py", "test_k8s.py"])
def test_both_drivers_run_the_same_scenario_functions(module: str):
    operator, jubilant = (scenario_calls(tier / module) for tier in TIERS)

    assert operator == jubilant
    assert operator
    assert all(len(calls) == 1 for calls in operator.values()), operator


def junit(tmp_path: Path, name: str, cases: str) -> Path:
    path = tmp_path / name
    path.write_text(f'<testsuites><testsuite name="pytest">{cases}</testsuite></testsuites>')
    return path


PASSED = '<testcase classname="tests.{tier}.test_machine" name="test_reboot_adds_no_start"/>'
FAILED = (
    '<testcase classname="tests.{tier}.test_machine" name="test_reboot_adds_no_start">'
    '<failure message="boom"/></testcase>'
)


def test_reports_that_agree_per_scenario_pass(tmp_path: Path):
    first = junit(tmp_path, "a.xml", PASSED.format(tier="integration"))
    second = junit(tmp_path, "b.xml", PASSED.format(tier="integration_jubilant"))

    assert compare_results.main([str(first), str(second)]) == 0


def test_a_scenario_that_fails_under_one_driver_only_is_a_disagreement(tmp_path: Path):
    first = junit(tmp_path, "a.xml", PASSED.format(tier="integration"))
    second = junit(tmp_path, "b.xml", FAILED.format(tier="integration_jubilant"))

    assert compare_results.main([str(first), str(second)]) == 1


def test_a_scenario_missing_from_one_report_is_a_disagreement(tmp_path: Path):
    first = junit(tmp_path, "a.xml", PASSED.format(tier="integration"))
    other = '<testcase classname="tests.integration_jubilant.test_machine" name="test_other"/>'
    second = junit(tmp_path, "b.xml", other)

    assert compare_results.main([str(first), str(second)]) == 1


def test_two_empty_reports_do_not_agree(tmp_path: Path):
    first, second = junit(tmp_path, "a.xml", ""), junit(tmp_path, "b.xml", "")

    assert compare_results.main([str(first), str(second)]) == 1
