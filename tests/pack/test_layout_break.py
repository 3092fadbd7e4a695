"""A broken artifact fails the checks: each is run on a copy of a real one, doctored.

Every test here copies a charm unpacked in this session, breaks one thing in
the copy, and asserts that the check responsible for it names exactly that
break. Nothing is packed again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.pack import artifact

VARIANTS = tuple(artifact.VARIANTS)


def doctored(unpacked: dict[str, Path], variant: str, scratch: Path) -> Path:
    """A private copy of the variant's unpacked charm, to break."""
    return Path(shutil.copytree(unpacked[variant], scratch / "doctored", symlinks=True))


@pytest.mark.parametrize("variant", VARIANTS)
def test_missing_shared_module_is_caught(
    variant: str, unpacked: dict[str, Path], artifact_python: Path, scratch: Path
) -> None:
    root = doctored(unpacked, variant, scratch)
    (root / "src" / "reconcile.py").unlink()
    spec = artifact.VARIANTS[variant]

    assert artifact.check_modules(root, spec) == ["src/ lacks ['reconcile.py']"]
    (imports,) = artifact.check_imports(root, spec, artifact_python, scratch)
    assert "No module named 'reconcile'" in imports
    dispatch = artifact.check_dispatch(root, spec, artifact_python, scratch / "dispatch")
    assert len(dispatch) == 2
    assert "No module named 'reconcile'" in dispatch[0]
    assert dispatch[1].startswith("dispatch did not get as far as constructing the charm")


def test_other_variants_module_is_caught(unpacked: dict[str, Path], scratch: Path) -> None:
    root = doctored(unpacked, "machine", scratch)
    shutil.copy2(unpacked["k8s"] / "src" / "pebble_workload.py", root / "src")

    problems = artifact.check_modules(root, artifact.VARIANTS["machine"])
    assert problems == ["src/ holds the other variant's ['pebble_workload.py']"]


def test_stale_module_is_caught(unpacked: dict[str, Path], scratch: Path) -> None:
    root = doctored(unpacked, "k8s", scratch)
    with (root / "src" / "workload.py").open("a") as module:
        module.write("# an older build\n")

    problems = artifact.check_modules(root, artifact.VARIANTS["k8s"])
    assert problems == ["src/ differs from the repository in ['workload.py']"]


def test_missing_dependency_is_caught(
    unpacked: dict[str, Path], artifact_python: Path, scratch: Path
) -> None:
    root = doctored(unpacked, "k8s", scratch)
    packages = artifact.site_packages(root)
    assert packages is not None
    shutil.rmtree(packages / "websocket")
    for info in packages.glob("websocket_client-*.dist-info"):
        shutil.rmtree(info)

    problems = artifact.check_venv(root)
    assert problems[0] == "the venv lacks the packages ['websocket']"
    assert problems[1].startswith("the venv does not meet ['websocket-client==1.*")
    assert len(problems) == 2
    (imports,) = artifact.check_imports(root, artifact.VARIANTS["k8s"], artifact_python, scratch)
    assert "No module named 'websocket'" in imports


def test_development_tool_in_venv_is_caught(unpacked: dict[str, Path], scratch: Path) -> None:
    root = doctored(unpacked, "machine", scratch)
    packages = artifact.site_packages(root)
    assert packages is not None
    info = packages / "pytest-9.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pytest\nVersion: 9.0.0\n")

    assert artifact.check_venv(root) == ["the venv holds distributions nothing needs: ['pytest']"]


def test_other_variants_metadata_is_caught(unpacked: dict[str, Path], scratch: Path) -> None:
    root = doctored(unpacked, "machine", scratch)
    shutil.copy2(unpacked["k8s"] / "metadata.yaml", root / "metadata.yaml")

    problems = artifact.check_metadata(root, artifact.VARIANTS["machine"])
    assert problems == [
        "metadata.yaml names 'example-blog-k8s', not 'example-blog'",
        "metadata.yaml differs from the merged metadata of machine",
        "the machine charm's metadata.yaml has ['containers', 'resources']",
        "metadata.yaml assumes ['juju >= 3.6', 'k8s-api']",
    ]


def test_kubernetes_metadata_without_container_is_caught(
    unpacked: dict[str, Path], scratch: Path
) -> None:
    root = doctored(unpacked, "k8s", scratch)
    text = (root / "metadata.yaml").read_text()
    (root / "metadata.yaml").write_text(text.replace("containers:", "no-containers:"))

    problems = artifact.check_metadata(root, artifact.VARIANTS["k8s"])
    assert problems == [
        "metadata.yaml differs from the merged metadata of k8s",
        f"metadata.yaml containers is None, not {artifact.KUBERNETES_METADATA['containers']!r}",
    ]


def test_dispatch_that_is_not_executable_is_caught(
    unpacked: dict[str, Path], scratch: Path
) -> None:
    root = doctored(unpacked, "machine", scratch)
    (root / "dispatch").chmod(0o644)
    (root / "src" / "charm.py").chmod(0o644)

    assert artifact.check_layout(root) == [
        "dispatch is missing or not executable",
        "src/charm.py is missing or not executable",
    ]


def test_missing_actions_are_caught(unpacked: dict[str, Path], scratch: Path) -> None:
    root = doctored(unpacked, "machine", scratch)
    (root / "actions.yaml").unlink()

    assert artifact.check_layout(root) == ["missing at the top level: ['actions.yaml']"]
    assert artifact.check_actions(root) == ["actions.yaml is missing"]


def test_unbounded_action_parameter_is_caught(unpacked: dict[str, Path], scratch: Path) -> None:
    root = doctored(unpacked, "k8s", scratch)
    actions = yaml.safe_load((root / "actions.yaml").read_text())
    del actions["add-post"]["params"]["body"]["maxLength"]
    (root / "actions.yaml").write_text(yaml.safe_dump(actions))

    assert artifact.check_actions(root) == [
        "actions.yaml differs from the project's actions.yaml",
        "an add-post parameter has no maxLength",
    ]


def test_changed_storage_declaration_is_caught(unpacked: dict[str, Path], scratch: Path) -> None:
    root = doctored(unpacked, "k8s", scratch)
    metadata = yaml.safe_load((root / "metadata.yaml").read_text())
    metadata["storage"]["posts"]["description"] = "Posts."
    (root / "metadata.yaml").write_text(yaml.safe_dump(metadata))

    problems = artifact.check_metadata(root, artifact.VARIANTS["k8s"])
    assert problems[-1].startswith("metadata.yaml storage is ")


def test_missing_config_is_caught(unpacked: dict[str, Path], scratch: Path) -> None:
    root = doctored(unpacked, "k8s", scratch)
    (root / "config.yaml").unlink()

    assert artifact.check_layout(root) == ["missing at the top level: ['config.yaml']"]
    assert artifact.check_config(root) == ["config.yaml is missing"]
