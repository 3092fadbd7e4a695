"""The Kubernetes charm in an emulated pod: what ``nocloud.pebble_pod`` needs of this charm.

nocloud emulates a pod of any sidecar charm and knows none; this module tells
it about this one: the charm's directory, assembled from the shared tree as
charmcraft packs it (``tools/assemble.py``); the unit's and the workload
container's names, from the charm's metadata; and what the blog needs of the
host's ``/usr``, which stands for the workload's image. It also reads the
blog's ``/health`` from inside the pod's network.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Final

from nocloud import pebble_pod
from nocloud.settings import COMMAND_TIMEOUT
from tools.assemble import assemble, merged_metadata

PROJECT: Final = Path(__file__).resolve().parents[2]
METADATA: Final = merged_metadata("k8s", PROJECT)
UNIT_NAME: Final = f"{METADATA['name']}/0"
# The one workload container the charm's metadata declares.
[CONTAINER] = METADATA["containers"]
# Each storage the container mounts, where it mounts it, as the metadata says.
STORAGE: Final = {
    mount["storage"]: mount["location"] for mount in METADATA["containers"][CONTAINER]["mounts"]
}
PEBBLE_READY: Final = f"{CONTAINER}-pebble-ready"
# The blog's interpreter, as its Pebble layer runs it, and the oldest it runs on.
WORKLOAD_PYTHON: Final = Path("/usr/bin/python3")
MINIMUM_PYTHON: Final = (3, 11)


def workload_unavailable() -> str | None:
    """Why the blog cannot run on the host's ``/usr``, or None when it can."""
    if not WORKLOAD_PYTHON.exists():
        return f"no {WORKLOAD_PYTHON}, the workload's interpreter (apt-get install python3)"
    version = subprocess.run(
        [WORKLOAD_PYTHON, "-c", f"import sys; print(sys.version_info >= {MINIMUM_PYTHON})"],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if version.stdout.strip() != "True":
        minimum = ".".join(map(str, MINIMUM_PYTHON))
        return f"{WORKLOAD_PYTHON} is older than {minimum}, the blog's minimum"
    return None


def check_host() -> None:
    """Raise ``SubstrateUnavailableError`` unless this charm's pods can run here (Pebble aside)."""
    pebble_pod.check_host(workload_unavailable)


class K8sUnit(pebble_pod.Unit):
    """A unit of the Kubernetes charm, its charm assembled into ``directory``.

    ``entrypoint`` and ``extra_src`` (files copied into the charm's ``src/``)
    run another charm class on the same layout, as ``test_designs.py`` does.
    """

    def __init__(
        self,
        directory: Path,
        pebble: Path,
        config: dict[str, Any],
        *,
        entrypoint: tuple[str, ...] = pebble_pod.ENTRYPOINT,
        extra_src: tuple[Path, ...] = (),
    ):
        charm = assemble("k8s", directory / "assembled-charm", PROJECT)
        for source in extra_src:
            shutil.copy(source, charm / "src" / source.name)
        super().__init__(
            directory,
            pebble,
            config,
            charm=charm,
            name=UNIT_NAME,
            container=CONTAINER,
            entrypoint=entrypoint,
            storage=STORAGE,
        )


def health(workload: pebble_pod.WorkloadContainer, port: int) -> dict[str, Any] | None:
    """The blog's ``/health`` on ``port`` inside the pod's network; None if nothing answers."""
    text = workload.fetch(port, "/health")
    return None if text is None else json.loads(text)
