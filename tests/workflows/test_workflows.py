"""The GitHub workflows are checked here as CI would first meet them: actionlint and zizmor.

The project's own shell scripts (CI's entry point, the quick start's
commands and their set-up) are checked with shellcheck here too.

actionlint checks each workflow's structure, expressions and (with
shellcheck on PATH) every ``run:`` script; zizmor checks them for security
problems (unpinned actions, credentials left in the checkout, template
injection, excessive permissions). Both must find nothing, and each is shown
to find the fault it exists for in a deliberately broken copy, so a checker
that silently checks nothing cannot pass. actionlint is built from its Go
module (``nocloud.go_build``); zizmor comes from PyPI (the ``workflows`` group).

Skips, with the reason, where Go, shellcheck or zizmor is missing; where the
tier is required (CI) a skip is a failure (``tests/conftest.py``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nocloud import go_build, hook_tools

ACTIONLINT_MODULE = "github.com/rhysd/actionlint"
ACTIONLINT_VERSION = "v1.7.12"
REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
CHECK_TIMEOUT = 120.0
# Every `uses:` names an action by a full commit, as zizmor's unpinned-uses asks.
PINNED = re.compile(r"uses: [\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d")


def workflow_files(directory: Path = WORKFLOWS) -> list[Path]:
    return sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))


def _reports_version(binary: Path) -> bool:
    try:
        result = subprocess.run(
            [binary, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return False
    return result.returncode == 0 and result.stdout.startswith(ACTIONLINT_VERSION)


@pytest.fixture(scope="session")
def actionlint() -> Path:
    if shutil.which("shellcheck") is None:
        pytest.skip("no shellcheck on PATH: actionlint would not check the run: scripts")
    try:
        return go_build.go_binary(
            ACTIONLINT_MODULE,
            f"{ACTIONLINT_MODULE}/cmd/actionlint",
            ACTIONLINT_VERSION,
            "actionlint",
            works=_reports_version,
        )
    except go_build.GoBuildError as e:
        pytest.skip(f"actionlint cannot be built here: {e}")


@pytest.fixture(scope="session")
def zizmor() -> str:
    # The environment's own first, as when its bin/ is not on PATH.
    beside = Path(sys.executable).with_name("zizmor")
    found = str(beside) if beside.is_file() else shutil.which("zizmor")
    if found is None:
        pytest.skip("no zizmor on PATH (the `workflows` dependency group installs it)")
    return found


def run(argv: list[str | Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in argv],
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT,
        check=False,
        cwd=REPO,
    )


def test_there_are_workflows_and_ci_runs_the_readme_test_command():
    names = [path.name for path in workflow_files()]
    assert names == ["integration.yaml", "test.yaml"]
    assert "tools/test-all" in (WORKFLOWS / "test.yaml").read_text()
    assert "tools/test-all" in (REPO / "README.md").read_text()


def test_every_action_is_pinned_by_commit():
    for path in workflow_files():
        uses = [line.strip() for line in path.read_text().splitlines() if "uses:" in line]
        for line in uses:
            assert PINNED.search(line), f"{path.name}: {line}"


def test_actionlint_finds_nothing(actionlint: Path):
    result = run([actionlint, "-no-color", *workflow_files()])

    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_zizmor_finds_nothing(zizmor: str):
    result = run([zizmor, "--offline", "--no-progress", "--format=plain", *workflow_files()])

    assert result.returncode == 0, result.stdout + result.stderr


def broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    """The workflows, with ``old`` replaced by ``new`` in test.yaml."""
    copy = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, copy)
    text = (copy / "test.yaml").read_text()
    assert old in text
    (copy / "test.yaml").write_text(text.replace(old, new, 1))
    return copy


def test_actionlint_catches_a_broken_script(actionlint: Path, tmp_path: Path):
    copy = broken_copy(tmp_path, "run: sudo", 'run: cd $(dirname "$0") && sudo')
    result = run([actionlint, "-no-color", *workflow_files(copy)])

    assert result.returncode == 1
    assert "shellcheck" in result.stdout


def test_zizmor_catches_an_action_pinned_by_tag(zizmor: str, tmp_path: Path):
    copy = broken_copy(
        tmp_path, "setup-go@b7ad1dad31e06c5925ef5d2fc7ad053ef454303e", "setup-go@v7"
    )

    result = run([zizmor, "--offline", "--no-progress", "--format=plain", *workflow_files(copy)])

    assert result.returncode != 0
    assert "unpinned-uses" in result.stdout


SHELL_SCRIPTS = (
    ".ci/run",
    "tools/test-all",
    "tools/demo",
    "tools/setup-test-host",
    "tools/bootstrap.sh",
)


def test_the_shell_scripts_pass_shellcheck():
    """The scripts a new user runs first, and CI's entry point, are shell: shellcheck them."""
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("no shellcheck on PATH")
    result = run([shellcheck, "--external-sources", *SHELL_SCRIPTS])

    assert (result.returncode, result.stdout) == (0, "")


def test_the_emulated_hook_tools_in_shell_pass_shellcheck(tmp_path: Path):
    """The substrate tier's hook tools that every hook calls are shell scripts too."""
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("no shellcheck on PATH")
    juju = hook_tools.HookTools(tmp_path, {"mode": "test"})
    tools = [str(juju.tools_dir / name) for name in hook_tools.SHELL_TOOLS]
    result = run([shellcheck, *tools])

    assert (result.returncode, result.stdout) == (0, "")
