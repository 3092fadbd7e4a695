"""How tools/assemble.py merges a variant's metadata over the shared one.

A key lives in one place: defined in both is an error, never an override.
``assumes`` is the one list a variant extends, since both charms need the
same Juju and the Kubernetes one needs a Kubernetes API besides.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tools.assemble import LayoutError, merged_metadata


def tree(tmp_path: Path, shared: dict, own: dict) -> Path:
    """A project with these two metadata files."""
    (tmp_path / "metadata.yaml").write_text(yaml.safe_dump(shared))
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "metadata.yaml").write_text(yaml.safe_dump(own))
    return tmp_path


def test_the_packed_charms_assume_the_tested_juju_and_the_k8s_one_a_kubernetes_api():
    assert merged_metadata("machine")["assumes"] == ["juju >= 3.6"]
    assert merged_metadata("k8s")["assumes"] == ["juju >= 3.6", "k8s-api"]


def test_assumes_is_the_shared_list_then_the_variants(tmp_path: Path):
    root = tree(tmp_path, {"assumes": ["juju >= 3.6"]}, {"name": "x", "assumes": ["k8s-api"]})

    assert merged_metadata("k8s", root) == {"assumes": ["juju >= 3.6", "k8s-api"], "name": "x"}


@pytest.mark.parametrize(
    ("shared", "own", "error"),
    [
        ({"summary": "a"}, {"summary": "b"}, "redefines shared keys: summary"),
        ({"assumes": ["juju >= 3.6"]}, {"assumes": "k8s-api"}, "redefines shared keys: assumes"),
        (
            {"assumes": ["k8s-api"]},
            {"assumes": ["k8s-api"]},
            "repeats shared assumes: ['k8s-api']",
        ),
    ],
    ids=["plain-key", "assumes-not-a-list", "repeated-entry"],
)
def test_a_key_in_both_is_an_error(tmp_path: Path, shared: dict, own: dict, error: str):
    with pytest.raises(LayoutError, match=re.escape(error)):
        merged_metadata("k8s", tree(tmp_path, shared, own))
