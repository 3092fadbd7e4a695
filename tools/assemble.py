#!/usr/bin/env python3
"""Lay out one charm variant's project directory from the shared tree.

The repository holds every shared file once at the top level, and each
variant directory (``machine/``, ``k8s/``) holds only what differs. charmcraft
packs one project directory per charm, so this script builds that directory:

* ``charmcraft.yaml``, ``config.yaml``, ``actions.yaml``, ``pyproject.toml``,
  ``uv.lock``, ``README.md`` and ``LICENSE`` are copied as they are;
* ``metadata.yaml`` is the top-level one with the variant's keys added (a key
  defined in both is an error, never a silent override), except ``assumes``,
  whose list the variant extends with what only it needs;
* ``src/`` is the shared ``src/`` with the variant's ``src/`` laid over it (a
  variant file with the name of a shared one is an error, never a shadow).

Usage: ``python tools/assemble.py machine|k8s DEST`` (DEST is replaced).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("machine", "k8s")
COPIED = (
    "charmcraft.yaml",
    "config.yaml",
    "actions.yaml",
    "pyproject.toml",
    "uv.lock",
    "README.md",
    "LICENSE",
)


# Metadata lists a variant extends: what both charms need, then what only it needs.
EXTENDED_KEYS = ("assumes",)


class LayoutError(Exception):
    """The shared tree and a variant disagree about who defines something."""


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise LayoutError(f"{path} is not a YAML mapping")
    return data


def merged_metadata(variant: str, root: Path = ROOT) -> dict[str, Any]:
    """The variant's full metadata: shared keys plus its own, with no key in both.

    A list under one of ``EXTENDED_KEYS`` in both is the shared list followed
    by the variant's entries; an entry in both lists is an error too.
    """
    shared = _load(root / "metadata.yaml")
    own = _load(root / variant / "metadata.yaml")
    both = shared.keys() & own.keys()
    extended = {
        key
        for key in both & set(EXTENDED_KEYS)
        if isinstance(shared[key], list) and isinstance(own[key], list)
    }
    if redefined := sorted(both - extended):
        raise LayoutError(f"{variant}/metadata.yaml redefines shared keys: {', '.join(redefined)}")
    merged = {**shared, **own}
    for key in sorted(extended):
        if repeated := [entry for entry in own[key] if entry in shared[key]]:
            raise LayoutError(f"{variant}/metadata.yaml repeats shared {key}: {repeated}")
        merged[key] = [*shared[key], *own[key]]
    return merged


def _source_files(directory: Path) -> dict[Path, Path]:
    return {
        path.relative_to(directory): path
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def charm_sources(variant: str, root: Path = ROOT) -> dict[Path, Path]:
    """Each file of the variant's ``src/`` (relative path to source path), shared ones first."""
    shared = _source_files(root / "src")
    own = _source_files(root / variant / "src")
    if both := sorted(str(path) for path in shared.keys() & own.keys()):
        raise LayoutError(f"{variant}/src would shadow shared files: {', '.join(both)}")
    return {**shared, **own}


def assemble(variant: str, dest: Path, root: Path = ROOT) -> Path:
    """Write the variant's project directory at ``dest`` (replacing it) and return it."""
    if variant not in VARIANTS:
        raise LayoutError(f"unknown variant {variant!r}: choose one of {', '.join(VARIANTS)}")
    metadata = merged_metadata(variant, root)
    sources = charm_sources(variant, root)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in COPIED:
        shutil.copy2(root / name, dest / name)
    (dest / "metadata.yaml").write_text(
        f"# Assembled from metadata.yaml and {variant}/metadata.yaml; edit those.\n"
        + yaml.safe_dump(metadata, sort_keys=False),
        encoding="utf-8",
    )
    for relative, source in sources.items():
        (dest / "src" / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest / "src" / relative)
    return dest


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Lay out one charm variant's project directory.")
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument("dest", type=Path)
    args = parser.parse_args(argv)
    try:
        print(assemble(args.variant, args.dest))
    except LayoutError as e:
        print(f"assemble: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
