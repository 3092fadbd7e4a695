"""The layout's promises: a licence, and a harness that knows nothing of this charm.

``nocloud/`` is meant to be lifted into another charm's repository as it is,
so it may import nothing of this one (the dependency runs one way: the
charm's tests and the demo import it), and no name of this charm may appear
in it. Nor may it reach the packed charms.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

from tools.assemble import VARIANTS, charm_sources

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "nocloud"
# Every top-level name under which this repository's own code can be imported.
CHARM_MODULES = {path.stem for path in (ROOT / "src").glob("*.py")} | {
    path.stem for variant in VARIANTS for path in (ROOT / variant / "src").glob("*.py")
}
PROJECT_PACKAGES = {"src", "tests", "tools", "teaching", *VARIANTS}


def imported_top_levels(path: Path) -> set[str]:
    """The top-level names a module imports (absolute imports only)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_harness_imports_nothing_of_the_charm():
    modules = sorted(HARNESS.glob("*.py"))
    assert modules
    found = {
        path.name: sorted(imported_top_levels(path) & (CHARM_MODULES | PROJECT_PACKAGES))
        for path in modules
    }
    assert not {name: bad for name, bad in found.items() if bad}


def test_the_harness_names_nothing_of_the_charm():
    pattern = re.compile(r"example.?blog|\bblog\b", re.IGNORECASE)
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted(HARNESS.rglob("*"))
        if path.is_file() and path.suffix in (".py", ".md")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not hits


def test_no_packed_charm_holds_the_harness_or_the_teaching_code():
    for variant in VARIANTS:
        sources = charm_sources(variant)
        assert sources
        assert not [s for s in sources.values() if s.parent.name in ("nocloud", "teaching")]


def test_the_licence_is_apache_2_and_the_project_says_so():
    assert (
        "Apache License\n                           Version 2.0" in (ROOT / "LICENSE").read_text()
    )
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
