"""Load each charm variant's entrypoint, the way every test tier needs it.

Both variants' entrypoints are ``src/charm.py`` (charmcraft's convention), so
they cannot both be imported as ``charm``; each is loaded here under a name of
its own, with the metadata and config its packed charm would have.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import ops
import yaml

from tools.assemble import merged_metadata

ROOT = Path(__file__).resolve().parent.parent
CHARM_CLASSES = {"machine": "ExampleBlogMachineCharm", "k8s": "ExampleBlogK8sCharm"}


def charm_class(variant: str) -> type[ops.CharmBase]:
    """The variant's charm class, imported from ``<variant>/src/charm.py``."""
    module_name = f"{variant}_charm"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(
            module_name, ROOT / variant / "src" / "charm.py"
        )
        assert spec
        assert spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return getattr(module, CHARM_CLASSES[variant])


def metadata(variant: str) -> dict[str, Any]:
    """The variant's merged metadata."""
    return merged_metadata(variant, ROOT)


def config_options() -> dict[str, Any]:
    """The shared config options."""
    return yaml.safe_load((ROOT / "config.yaml").read_text())
