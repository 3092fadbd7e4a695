#!/usr/bin/env python3
"""Pack both charm variants with charmcraft.

Each variant is laid out by ``tools/assemble.py`` in ``build/<variant>/`` and
packed there with ``charmcraft pack``; the ``.charm`` files it makes are then
moved to ``build/`` (``example-blog_*.charm``, ``example-blog-k8s_*.charm``),
replacing the ones an earlier run left there.

charmcraft builds in LXD or Multipass, as it always does. On a host that is
the charms' base (Ubuntu 24.04), ``--destructive-mode`` builds on the host
itself instead, which is faster and needs neither.

Usage: ``python tools/pack.py [--destructive-mode] [VARIANT ...]`` (both
variants by default; ``--help`` lists the other options). It needs PyYAML,
which ``uv run --group unit`` or ``tox -e pack`` provide.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

# assemble.py is a sibling script: importable once its directory is on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import assemble

ROOT = assemble.ROOT
VARIANTS = assemble.VARIANTS
BUILD_DIR = ROOT / "build"
# A managed build may first have to create and set up its LXD or Multipass instance.
DEFAULT_TIMEOUT = 3600


class PackError(Exception):
    """Packing a variant failed; the message says which and why."""


def find_charmcraft(charmcraft: str = "charmcraft") -> str:
    """The full path of the charmcraft to run, or a PackError saying how to get one."""
    found = shutil.which(charmcraft)
    if found is None:
        raise PackError(
            f"{charmcraft!r} was not found. Install charmcraft "
            "(`sudo snap install charmcraft --classic`) or name one with --charmcraft."
        )
    return found


def assemble_project(variant: str, build_dir: Path = BUILD_DIR) -> Path:
    """Lay out the variant's project directory at ``build_dir/variant`` and return it."""
    try:
        return assemble.assemble(variant, build_dir / variant)
    except assemble.LayoutError as e:
        raise PackError(f"cannot lay out {variant}: {e}") from e


def charm_name(project: Path) -> str:
    """The charm name an assembled project directory declares in its metadata.yaml."""
    metadata = yaml.safe_load((project / "metadata.yaml").read_text(encoding="utf-8"))
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str) or not name:
        raise PackError(f"{project / 'metadata.yaml'} does not name the charm")
    return name


def pack_command(charmcraft: str, *, destructive_mode: bool = False) -> list[str]:
    """The charmcraft command line that packs the project in the current directory."""
    return [charmcraft, "pack", *(["--destructive-mode"] if destructive_mode else [])]


def run_charmcraft(
    command: Sequence[str],
    project: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> None:
    """Run ``command`` in ``project``; raise a PackError if it fails or runs out of time.

    Its output goes to the terminal, or to the file ``log`` when one is given
    (and then the end of that file is part of the error).
    """
    with contextlib.ExitStack() as stack:
        out = None if log is None else stack.enter_context(log.open("w", encoding="utf-8"))
        try:
            result = subprocess.run(  # noqa: S603  (our own command line, not user input)
                list(command),
                cwd=project,
                env=None if env is None else dict(env),
                stdout=out,
                stderr=None if out is None else subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            problem = f"did not finish within {timeout:g} s"
        except OSError as e:
            problem = f"could not start: {e}"
        else:
            if result.returncode == 0:
                return
            problem = f"failed with exit status {result.returncode}"
    tail = ""
    if log is not None and log.exists():
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        tail = "".join(f"\n  | {line}" for line in lines[-40:])
    raise PackError(f"`{shlex.join(command)}` in {project} {problem}{tail}")


def collect_charms(project: Path, out_dir: Path) -> list[Path]:
    """Move the charms charmcraft left in ``project`` to ``out_dir``; return their new paths.

    Charms of the same name that an earlier run left in ``out_dir`` are removed
    first, so ``out_dir`` holds exactly what this run made.
    """
    name = charm_name(project)
    made = sorted(project.glob(f"{name}_*.charm"))
    if not made:
        raise PackError(f"charmcraft finished but left no {name}_*.charm in {project}")
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(f"{name}_*.charm"):
        stale.unlink()
    collected: list[Path] = []
    for charm in made:
        collected.append(Path(shutil.move(charm, out_dir / charm.name)))
    return collected


def pack(
    variants: Sequence[str] = VARIANTS,
    *,
    destructive_mode: bool = False,
    charmcraft: str = "charmcraft",
    build_dir: Path = BUILD_DIR,
    out_dir: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Path]:
    """Assemble and pack each variant; return the charms, all in ``out_dir`` (``build_dir``)."""
    out_dir = build_dir if out_dir is None else out_dir
    for variant in variants:
        project = (build_dir / variant).resolve()
        if out_dir.resolve().is_relative_to(project):
            raise PackError(
                f"the output directory {out_dir} is inside {variant}'s build directory"
            )
    command = pack_command(find_charmcraft(charmcraft), destructive_mode=destructive_mode)
    charms: list[Path] = []
    for variant in variants:
        project = assemble_project(variant, build_dir)
        print(f"pack: packing {variant} in {project}", file=sys.stderr, flush=True)
        run_charmcraft(command, project, timeout=timeout)
        charms.extend(collect_charms(project, out_dir))
    return charms


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description="Assemble each charm variant and pack it with charmcraft.",
    )
    parser.add_argument(
        "variants",
        nargs="*",
        metavar="VARIANT",
        help=f"variants to pack: {', '.join(VARIANTS)} (default: all)",
    )
    parser.add_argument(
        "--destructive-mode",
        action="store_true",
        help="build on this host instead of LXD or Multipass (the host must be Ubuntu 24.04)",
    )
    parser.add_argument("--charmcraft", default="charmcraft", help="the charmcraft to run")
    parser.add_argument(
        "--build-dir",
        type=Path,
        default=BUILD_DIR,
        help="where the variants' project directories are laid out (default: build/)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="where the .charm files go (default: the build directory)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds one variant's pack may take (default: {DEFAULT_TIMEOUT})",
    )
    args = parser.parse_args(argv)
    if unknown := [variant for variant in args.variants if variant not in VARIANTS]:
        parser.error(f"unknown variant {unknown[0]!r}: choose from {', '.join(VARIANTS)}")
    try:
        charms = pack(
            tuple(dict.fromkeys(args.variants)) or VARIANTS,
            destructive_mode=args.destructive_mode,
            charmcraft=args.charmcraft,
            build_dir=args.build_dir,
            out_dir=args.output,
            timeout=args.timeout,
        )
    except PackError as e:
        print(f"pack: {e}", file=sys.stderr)
        return 1
    for charm in charms:
        print(charm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
