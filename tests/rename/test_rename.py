"""``tools/rename`` on a clone: the renamed charm passes lint, static, unit and artifacts.

The clone is of the committed HEAD. After the rename the template's name may
remain only in the files that describe the template (``tools/rename``'s
``KEEP``), and the renamed project's own tiers must pass on it, run the way
its README says (tox through uv), after ``tox -e format`` as the tool asks.
Slow (a minute or more: the renamed project sets up its own environments and
packs its charms), so it has its own tox env, ``rename``, which CI runs after
the README's test command.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
NEW = "my-app"
OLD_NAMES = re.compile(r"example[-_ ]?blog", re.IGNORECASE)
# The formatter first, as the tool says: the new name may reorder imports.
TIERS = "format,lint,static,unit,artifacts"
TIMEOUT = 30 * 60
REQUIRE = "EXAMPLE_BLOG_REQUIRE_SUBSTRATE"
# tox as the README runs it: through uv, with the tox-uv plugin.
TOX = ("uv", "tool", "run", "--from", "tox>=4.22", "--with", "tox-uv>=1.25", "tox")


def rename_tool() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("rename_tool", str(REPO / "tools" / "rename"))
    spec = importlib.util.spec_from_loader("rename_tool", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("rename") / NEW
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(copy)], check=True)
    result = subprocess.run(
        [str(copy / "tools" / "rename"), NEW], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return copy


def test_spellings_of_a_name():
    assert rename_tool().spellings("my-fine-app") == {
        "kebab": "my-fine-app",
        "snake": "my_fine_app",
        "pascal": "MyFineApp",
        "upper": "MY_FINE_APP",
    }


@pytest.mark.parametrize("bad", ["My-App", "my_app", "-app", "app-", "my--app", "app-k8s", "9app"])
def test_a_name_that_is_no_charm_name_is_refused(bad: str):
    result = subprocess.run(
        [str(REPO / "tools" / "rename"), bad], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "is not a new charm name" in result.stderr


def test_the_old_name_is_left_only_where_the_template_describes_itself(renamed: Path):
    found = git(renamed, "grep", "-n", "-i", "-E", "example[-_ ]?blog", "--", ".").splitlines()
    print("\n".join(found))  # shown with -s

    assert {line.split(":", 1)[0] for line in found} <= set(rename_tool().KEEP)
    assert (renamed / "src" / "my_app.py").is_file()
    assert not (renamed / "src" / "example_blog.py").exists()
    assert "name: my-app-k8s" in (renamed / "k8s" / "metadata.yaml").read_text()
    assert "name: my-app\n" in (renamed / "machine" / "metadata.yaml").read_text()


def test_the_renamed_charm_passes_lint_static_unit_and_artifacts(renamed: Path):
    if shutil.which("uv") is None:
        pytest.skip("no uv on PATH (tools/test-all puts it there)")
    env = dict(os.environ)
    if os.environ.get(REQUIRE):
        env["MY_APP_REQUIRE_SUBSTRATE"] = "1"
    result = subprocess.run(
        [*TOX, "run", "-e", TIERS],
        cwd=renamed,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-6000:]
    assert "congratulations :)" in result.stdout
