"""Load each charm variant's entrypoint, the way every test tier needs it.

Both variants' entrypoints are ``src/charm.py`` (charmcraft's convention), so
they cannot both be imported as ``charm``. Every module of ``<variant>/src``
is imported under its path in the repository instead (``machine.src.charm``,
``k8s.src.pebble_workload``: ``machine/`` and ``k8s/`` are namespace
packages), the one name that never collides and the one mutation testing
reports it by. The workload modules are also what the entrypoints import them
as (``systemd_workload``, ``pebble_workload``): that bare name is the same
module object, so a test that patches one patches what the charm runs.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import ops
import yaml

from tools.assemble import merged_metadata

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("machine", "k8s")
CHARM_CLASSES = {"machine": "ExampleBlogMachineCharm", "k8s": "ExampleBlogK8sCharm"}


def _import_variant_modules() -> None:
    for variant in VARIANTS:
        for path in sorted((ROOT / variant / "src").glob("*.py")):
            if path.stem == "charm":
                continue
            module = importlib.import_module(f"{variant}.src.{path.stem}")
            bare = sys.modules.setdefault(path.stem, module)
            if bare is not module:
                raise ImportError(f"{path.stem} was imported before tests.variants named it")


_import_variant_modules()


def charm_class(variant: str) -> type[ops.CharmBase]:
    """The variant's charm class, from ``<variant>/src/charm.py``."""
    return getattr(importlib.import_module(f"{variant}.src.charm"), CHARM_CLASSES[variant])


def metadata(variant: str) -> dict[str, Any]:
    """The variant's merged metadata."""
    return merged_metadata(variant, ROOT)


def config_options() -> dict[str, Any]:
    """The shared config options."""
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def action_definitions() -> dict[str, Any]:
    """The shared actions."""
    return yaml.safe_load((ROOT / "actions.yaml").read_text())
