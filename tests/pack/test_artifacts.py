"""Each packed charm holds what its variant needs, imports from itself alone, lints as known."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from tests.pack import artifact, support
from tools.assemble import assemble

VARIANTS = tuple(artifact.VARIANTS)

# Every finding of `charmcraft analyse` (4.5.0) on these charms that is not
# "ok", and why each is expected. A new finding, or a changed one, fails.
#
# charmcraft writes the dispatch of a uv-plugin charm with a shell variable,
# `exec "${python_path}" "${dispatch_path}/src/charm.py"`, and its linters take
# the last word of that line literally, without expanding it. So they never
# find the entrypoint, and everything that starts from the entrypoint fails
# with it; `check_layout` does the entrypoint lint's work instead (dispatch
# ends by running src/charm.py, which exists and is executable), and the
# import tests prove far more than "is a Python file".
KNOWN_FINDINGS = {
    # Python is detected only through a dispatch pointing at an executable .py file.
    "language": "unknown",
    # The operator framework is detected through that entrypoint too, and by a
    # venv/ops directory: the charm plugin's layout, not the uv plugin's venv
    # (venv/lib/pythonX.Y/site-packages/ops).
    "framework": "unknown",
    # The false error: "Cannot find the entrypoint file: '...${dispatch_path}/src/charm.py'".
    "entrypoint": "error",
    # Checked only for charms detected as operator-framework charms (see framework).
    "ops-main-call": "nonapplicable",
    # Needs the build environment, which analysing a finished .charm does not have.
    "additional-files": "nonapplicable",
    # Checks the PYDEPS of charm libraries under lib/charms; these charms use none.
    "pydeps": "nonapplicable",
}
# Of the "ok" results, pip-check proves nothing here: it runs pip with
# charmcraft's own Python against the venv, so on a venv built for another
# Python version it sees no packages at all. check_venv does that work instead.


@pytest.mark.parametrize("variant", VARIANTS)
def test_charmcraft_accepts_the_assembled_project(variant: str, scratch: Path) -> None:
    """The unmodified assembled project (build-snaps and all) passes charmcraft's validation."""
    if reason := support.unmet_need():
        pytest.skip(f"cannot run charmcraft on this host: {reason}")
    project = assemble(variant, scratch / variant)

    expanded = support.expand_extensions(project, scratch)

    assert expanded["name"] == artifact.VARIANTS[variant].charm
    assert expanded["base"] == "ubuntu@24.04"
    assert expanded["parts"]["charm"]["build-snaps"] == ["astral-uv"]
    assert set(expanded["config"]["options"]) == {"mode"}


@pytest.mark.parametrize("variant", VARIANTS)
def test_charm_file_is_named_after_the_charm(
    variant: str, packed: dict[str, support.PackedCharm]
) -> None:
    name = packed[variant].path.name
    assert fnmatch.fnmatch(name, f"{artifact.VARIANTS[variant].charm}_*.charm"), name


@pytest.mark.parametrize("variant", VARIANTS)
def test_layout_and_dispatch(variant: str, unpacked: dict[str, Path]) -> None:
    assert artifact.check_layout(unpacked[variant]) == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_manifest_names_the_base(variant: str, unpacked: dict[str, Path]) -> None:
    assert artifact.check_manifest(unpacked[variant]) == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_metadata_is_the_variants_merged_metadata(variant: str, unpacked: dict[str, Path]) -> None:
    assert artifact.check_metadata(unpacked[variant], artifact.VARIANTS[variant]) == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_config_has_the_mode_option(variant: str, unpacked: dict[str, Path]) -> None:
    assert artifact.check_config(unpacked[variant]) == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_actions_hold_add_post(variant: str, unpacked: dict[str, Path]) -> None:
    assert artifact.check_actions(unpacked[variant]) == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_src_holds_shared_and_own_modules_only(variant: str, unpacked: dict[str, Path]) -> None:
    assert artifact.check_modules(unpacked[variant], artifact.VARIANTS[variant]) == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_venv_holds_the_runtime_dependencies(variant: str, unpacked: dict[str, Path]) -> None:
    assert artifact.check_venv(unpacked[variant]) == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_charm_imports_from_the_artifact_alone(
    variant: str, unpacked: dict[str, Path], artifact_python: Path, scratch: Path
) -> None:
    problems = artifact.check_imports(
        unpacked[variant], artifact.VARIANTS[variant], artifact_python, scratch
    )
    assert problems == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_dispatch_gets_ops_to_construct_the_charm(
    variant: str, unpacked: dict[str, Path], artifact_python: Path, scratch: Path
) -> None:
    problems = artifact.check_dispatch(
        unpacked[variant], artifact.VARIANTS[variant], artifact_python, scratch
    )
    assert problems == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_analyse_reports_only_the_known_findings(
    variant: str, packed: dict[str, support.PackedCharm], scratch: Path
) -> None:
    status, results = support.analyse(packed[variant].path, scratch)
    findings = {result["name"]: result["result"] for result in results if result["result"] != "ok"}
    assert findings == KNOWN_FINDINGS
    entrypoint = next(result for result in results if result["name"] == "entrypoint")
    assert "${dispatch_path}/src/charm.py" in entrypoint["text"]
    # charmcraft exits 2 when a linter reports an error: here only the false one.
    assert status == 2
