"""What a packed charm must hold, checked on an unpacked copy of it.

Each ``check_*`` function returns a list of problems (empty when the artifact
is right), so a test can assert both that a real artifact has none and that a
doctored copy has exactly the expected one.
"""

from __future__ import annotations

import configparser
import importlib.metadata
import json
import os
import shlex
import shutil
import stat
import subprocess
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.pack.host import run
from tools.assemble import ROOT, charm_sources, merged_metadata


@dataclass(frozen=True)
class Variant:
    """What distinguishes one packed charm from the other."""

    name: str
    charm: str
    charm_class: str
    own_modules: frozenset[str]


VARIANTS = {
    "machine": Variant(
        "machine",
        "example-blog",
        "ExampleBlogMachineCharm",
        frozenset({"charm.py", "systemd_workload.py"}),
    ),
    "k8s": Variant(
        "k8s",
        "example-blog-k8s",
        "ExampleBlogK8sCharm",
        frozenset({"charm.py", "pebble_workload.py"}),
    ),
}
SHARED_MODULES = frozenset(
    {
        "blog_charm.py",
        "blog_config.py",
        "example_blog.py",
        "new_post.py",
        "reconcile.py",
        "workload.py",
    }
)
TOP_LEVEL = frozenset(
    {"dispatch", "manifest.yaml", "metadata.yaml", "config.yaml", "actions.yaml", "src", "venv"}
)
# Import roots the charm code uses directly or through ops, relative to site-packages.
RUNTIME_IMPORTS = ("ops", "charmlibs/pathops", "charmlibs/systemd", "yaml", "websocket")
POSTS_STORAGE = {
    "posts": {
        "type": "filesystem",
        "description": "The blog's posts, one UTF-8 text file each, served in production mode.",
        "location": "/var/lib/example_blog/posts",
    }
}
# The oldest Juju both charms are tested on; the Kubernetes one needs a Kubernetes API too.
MACHINE_ASSUMES = ["juju >= 3.6"]
KUBERNETES_METADATA = {
    "containers": {
        "blog": {
            "resource": "blog-image",
            "mounts": [{"storage": "posts", "location": "/var/lib/example_blog/posts"}],
        }
    },
    "assumes": ["juju >= 3.6", "k8s-api"],
}
RUN_TIMEOUT = 120


def unpack(charm: Path, dest: Path) -> Path:
    """Extract a .charm (a zip) to ``dest`` with the file modes and symlinks it records."""
    dest.mkdir(parents=True)
    with zipfile.ZipFile(charm) as archive:
        for info in archive.infolist():
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                link = dest / info.filename
                target = archive.read(info).decode()
                if not (link.parent / target).resolve().is_relative_to(dest.resolve()):
                    raise ValueError(f"{charm}: {info.filename} links outside the charm")
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(target)
                continue
            extracted = Path(archive.extract(info, dest))
            if mode and not info.is_dir():
                extracted.chmod(stat.S_IMODE(mode))
    return dest


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def check_layout(root: Path) -> list[str]:
    """Top-level entries, and a dispatch that runs the executable ``src/charm.py``."""
    problems: list[str] = []
    entries = {path.name for path in root.iterdir()}
    if missing := sorted(TOP_LEVEL - entries):
        problems.append(f"missing at the top level: {missing}")
    if extra := sorted(entries - TOP_LEVEL):
        problems.append(f"unexpected at the top level: {extra}")
    dispatch = root / "dispatch"
    if not _executable(dispatch):
        problems.append("dispatch is missing or not executable")
    else:
        lines = [line for line in dispatch.read_text().splitlines() if line.strip()]
        last = shlex.split(lines[-1]) if lines else []
        if not (last and last[0] == "exec" and last[-1].endswith("/src/charm.py")):
            problems.append(f"dispatch does not end by running src/charm.py: {lines[-1:]}")
    if not _executable(root / "src" / "charm.py"):
        problems.append("src/charm.py is missing or not executable")
    return problems


def check_manifest(root: Path) -> list[str]:
    """manifest.yaml names the charms' base, Ubuntu 24.04 on amd64."""
    path = root / "manifest.yaml"
    if not path.is_file():
        return ["manifest.yaml is missing"]
    manifest = yaml.safe_load(path.read_text()) or {}
    problems: list[str] = []
    if "charmcraft-version" not in manifest:
        problems.append("manifest.yaml does not record the charmcraft version")
    expected = [{"name": "ubuntu", "channel": "24.04", "architectures": ["amd64"]}]
    if manifest.get("bases") != expected:
        problems.append(f"manifest.yaml bases are {manifest.get('bases')}, not {expected}")
    return problems


def check_metadata(root: Path, variant: Variant) -> list[str]:
    """metadata.yaml is the variant's merged metadata, with the right name and substrate keys."""
    path = root / "metadata.yaml"
    if not path.is_file():
        return ["metadata.yaml is missing"]
    metadata: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    problems: list[str] = []
    if metadata.get("name") != variant.charm:
        problems.append(f"metadata.yaml names {metadata.get('name')!r}, not {variant.charm!r}")
    if metadata != merged_metadata(variant.name):
        problems.append(f"metadata.yaml differs from the merged metadata of {variant.name}")
    if metadata.get("storage") != POSTS_STORAGE:
        problems.append(f"metadata.yaml storage is {metadata.get('storage')!r}")
    return problems + substrate_problems(metadata, variant)


def substrate_problems(metadata: dict[str, Any], variant: Variant) -> list[str]:
    """What only one substrate's metadata must have, or must not."""
    problems: list[str] = []
    if variant.name == "k8s":
        for key, value in KUBERNETES_METADATA.items():
            if metadata.get(key) != value:
                problems.append(f"metadata.yaml {key} is {metadata.get(key)!r}, not {value!r}")
        image = metadata.get("resources", {}).get("blog-image", {})
        if image.get("type") != "oci-image":
            problems.append(f"metadata.yaml has no oci-image resource blog-image: {image!r}")
        return problems
    if kubernetes_keys := sorted({"containers", "resources"} & metadata.keys()):
        problems.append(f"the machine charm's metadata.yaml has {kubernetes_keys}")
    if metadata.get("assumes") != MACHINE_ASSUMES:
        problems.append(f"metadata.yaml assumes {metadata.get('assumes')!r}")
    return problems


def check_config(root: Path) -> list[str]:
    """config.yaml holds the project's options, among them ``mode`` defaulting to ``test``."""
    path = root / "config.yaml"
    if not path.is_file():
        return ["config.yaml is missing"]
    options = (yaml.safe_load(path.read_text()) or {}).get("options", {})
    problems: list[str] = []
    mode = options.get("mode", {})
    if (mode.get("type"), mode.get("default")) != ("string", "test"):
        problems.append(f"config.yaml has no string option mode defaulting to test: {mode!r}")
    if options != yaml.safe_load((ROOT / "config.yaml").read_text())["options"]:
        problems.append("config.yaml options differ from the project's config.yaml")
    return problems


def check_actions(root: Path) -> list[str]:
    """actions.yaml is the project's, with ``add-post`` and its bounded parameters."""
    path = root / "actions.yaml"
    if not path.is_file():
        return ["actions.yaml is missing"]
    actions = yaml.safe_load(path.read_text()) or {}
    problems: list[str] = []
    if actions != yaml.safe_load((ROOT / "actions.yaml").read_text()):
        problems.append("actions.yaml differs from the project's actions.yaml")
    add_post = actions.get("add-post", {})
    params = add_post.get("params", {})
    if sorted(params) != ["body", "title"] or add_post.get("required") != ["title"]:
        problems.append(f"add-post takes {sorted(params)}, requiring {add_post.get('required')}")
    if any("maxLength" not in param for param in params.values()):
        problems.append("an add-post parameter has no maxLength")
    if add_post.get("additionalProperties") is not False:
        problems.append("add-post accepts parameters it does not declare")
    return problems


def check_modules(root: Path, variant: Variant) -> list[str]:
    """src/ holds exactly the shared modules and the variant's own, as in the repository."""
    src = root / "src"
    packed = {
        str(path.relative_to(src)): path
        for path in sorted(src.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
    sources = {str(relative): path for relative, path in charm_sources(variant.name).items()}
    problems: list[str] = []
    if missing := sorted((SHARED_MODULES | variant.own_modules | sources.keys()) - packed.keys()):
        problems.append(f"src/ lacks {missing}")
    others = set().union(*(v.own_modules for v in VARIANTS.values() if v != variant))
    if foreign := sorted((others - variant.own_modules) & packed.keys()):
        problems.append(f"src/ holds the other variant's {foreign}")
    if extra := sorted(packed.keys() - sources.keys() - set(foreign)):
        problems.append(f"src/ holds files the repository does not: {extra}")
    if stale := sorted(
        name
        for name in packed.keys() & sources.keys()
        if packed[name].read_bytes() != sources[name].read_bytes()
    ):
        problems.append(f"src/ differs from the repository in {stale}")
    return problems


def venv_version_info(root: Path) -> str | None:
    """The full version (``X.Y.Z``) of the Python the packed venv was built for."""
    path = root / "venv" / "pyvenv.cfg"
    if not path.is_file():
        return None
    parser = configparser.ConfigParser()
    parser.read_string("[venv]\n" + path.read_text())
    return parser.get("venv", "version_info", fallback=None)


def venv_python_version(root: Path) -> str | None:
    """The ``X.Y`` of the Python the packed venv was built for."""
    version = venv_version_info(root)
    return ".".join(version.split(".")[:2]) if version else None


def site_packages(root: Path) -> Path | None:
    """The packed venv's site-packages, for the Python it was built for."""
    version = venv_python_version(root)
    path = root / "venv" / "lib" / f"python{version}" / "site-packages"
    return path if version and path.is_dir() else None


def _requirements(
    distributions: dict[str, importlib.metadata.Distribution], version_info: str
) -> tuple[set[str], list[str]]:
    """What the project needs on Python ``version_info``: the distributions, and what is unmet.

    Walks the project's dependencies and, through each installed distribution's
    own requirements (with the extras asked of it), everything they need.
    """
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [(Requirement(text), "") for text in project["dependencies"]]
    environment = {
        "python_version": ".".join(version_info.split(".")[:2]),
        "python_full_version": version_info,
    }
    visited: set[tuple[str, str]] = set()
    unmet: list[str] = []
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({**environment, "extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        dist = distributions.get(name)
        if dist is None:
            unmet.append(f"{requirement} (not installed)")
            continue
        if not requirement.specifier.contains(dist.version, prereleases=True):
            unmet.append(f"{requirement} (found {dist.version})")
        for wanted in ("", *sorted(requirement.extras)):
            if (name, wanted) not in visited:
                visited.add((name, wanted))
                todo.extend((Requirement(text), wanted) for text in dist.requires or [])
    return {name for name, _ in visited}, unmet


def check_venv(root: Path) -> list[str]:
    """The venv holds every runtime dependency, in versions that fit, and nothing more."""
    version_info = venv_version_info(root)
    packages = site_packages(root)
    if version_info is None or packages is None:
        return [f"no venv site-packages for the venv's Python {version_info}"]
    problems: list[str] = []
    if missing := [name for name in RUNTIME_IMPORTS if not (packages / name).is_dir()]:
        problems.append(f"the venv lacks the packages {missing}")
    distributions: dict[str, importlib.metadata.Distribution] = {
        canonicalize_name(dist.metadata["Name"]): dist
        for dist in importlib.metadata.distributions(path=[str(packages)])
    }
    needed, unmet = _requirements(distributions, version_info)
    if unmet:
        problems.append(f"the venv does not meet {sorted(unmet)}")
    if extra := sorted(distributions.keys() - needed):
        problems.append(f"the venv holds distributions nothing needs: {extra}")
    return problems


# Imports the charm module the way dispatch does (the artifact's lib/ and src/
# first, then its venv), with nothing of the host's but the standard library,
# and reports any loaded module that came from elsewhere.
IMPORT_PROBE = """
import importlib.util, json, site, sys, sysconfig
root, packages, class_name = sys.argv[1:4]
sys.path[:0] = [root + "/lib", root + "/src"]
site.addsitedir(packages)
report = {"python": "%d.%d" % sys.version_info[:2], "error": None, "charm_class": False}
try:
    spec = importlib.util.spec_from_file_location("packed_charm", root + "/src/charm.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["packed_charm"] = module
    spec.loader.exec_module(module)
    import ops
    found = getattr(module, class_name, None)
    report["charm_class"] = isinstance(found, type) and issubclass(found, ops.CharmBase)
except Exception as e:
    report["error"] = "%s: %s" % (type(e).__name__, e)
stdlib = {sysconfig.get_paths()[key] + "/" for key in ("stdlib", "platstdlib")}
report["outside"] = sorted(
    path for module in list(sys.modules.values())
    if (path := getattr(module, "__file__", None))
    and not path.startswith(root + "/") and not path.startswith(tuple(stdlib))
)
print(json.dumps(report))
"""


def check_imports(root: Path, variant: Variant, python: Path, workdir: Path) -> list[str]:
    """src/charm.py imports, and defines its charm class, from the artifact alone."""
    packages = site_packages(root)
    if packages is None:
        return ["the artifact has no venv site-packages to import from"]
    try:
        result = run(
            [python, "-I", "-S", "-c", IMPORT_PROBE, root, packages, variant.charm_class],
            timeout=RUN_TIMEOUT,
            cwd=workdir,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        )
    except subprocess.TimeoutExpired:
        return [f"importing src/charm.py took over {RUN_TIMEOUT} s"]
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        return [f"the import probe failed:\n{result.stdout}{result.stderr}"]
    problems: list[str] = []
    if report["python"] != venv_python_version(root):
        problems.append(f"probed with Python {report['python']}, not the venv's")
    if report["error"]:
        problems.append(f"importing src/charm.py failed: {report['error']}")
    elif not report["charm_class"]:
        problems.append(f"src/charm.py defines no charm class {variant.charm_class}")
    if report["outside"]:
        problems.append(f"modules loaded from outside the artifact: {report['outside']}")
    return problems


JUJU_LOG_STUB = """#!/bin/sh
printf '%s\\n' "$*" >> "$JUJU_LOG_RECORD"
"""


def check_dispatch(root: Path, variant: Variant, python: Path, workdir: Path) -> list[str]:
    """Juju's way in: ``dispatch`` runs the charm far enough for ops to construct it.

    It runs a fresh copy (dispatch links the venv's interpreter into it) in an
    environment with nothing but the interpreter, a stand-in for the hook tool
    ``juju-log`` that records what ops logs, and ``JUJU_CHARM_DIR``. ops then
    sets up, loads the metadata and constructs the charm, and fails at the
    first other hook tool it needs, since this is not a Juju unit.
    """
    charm_dir = workdir / "charm"
    shutil.copytree(root, charm_dir, symlinks=True)
    tools = workdir / "bin"
    tools.mkdir()
    (tools / "python3").symlink_to(python)
    (tools / "juju-log").write_text(JUJU_LOG_STUB)
    (tools / "juju-log").chmod(0o755)
    record = workdir / "juju-log.txt"
    record.touch()
    env = {
        "PATH": f"{tools}:/usr/bin:/bin",
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "JUJU_CHARM_DIR": str(charm_dir),
        "JUJU_LOG_RECORD": str(record),
    }
    try:
        result = run([charm_dir / "dispatch"], timeout=RUN_TIMEOUT, cwd=workdir, env=env)
    except subprocess.TimeoutExpired:
        return [f"dispatch took over {RUN_TIMEOUT} s"]
    logged = record.read_text()
    output = f"{result.stdout}{result.stderr}{logged}"
    problems: list[str] = []
    if "ModuleNotFoundError" in output or "ImportError" in output:
        problems.append(f"dispatch failed to import:\n{output[-2000:]}")
    if f"<__main__.{variant.charm_class} object" not in logged:
        problems.append(
            f"dispatch did not get as far as constructing the charm:\n{output[-2000:]}"
        )
    return problems
