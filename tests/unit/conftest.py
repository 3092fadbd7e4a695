"""The charms as the unit tier runs them: the shared charm on the Workload fake, and each variant.

* ``charm``: the shared charm class on the in-memory Workload fake
  (``tests/support/workload_fake.py``), for the rules both variants share:
  what to write, when to restart, what status to show.
* ``machine``, ``k8s``: each variant through its own entrypoint, on
  ``systemctl`` or Pebble faked at its calls
  (``tests/support/service_managers.py``), for what only that variant does.
* ``each_charm``: all three in turn, for the few runs that prove each
  entrypoint wires the shared charm to its service manager end to end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.charm_run import CharmRun
from tests.support.service_managers import (
    K8sCharmRun,
    MachineCharmRun,
    k8s_charm_run,
    machine_charm_run,
)
from tests.support.workload_fake import SharedCharmRun, shared_charm_run


@pytest.fixture
def charm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SharedCharmRun:
    """The shared charm on a fake workload rooted at ``tmp_path``."""
    return shared_charm_run(tmp_path, monkeypatch)


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MachineCharmRun:
    """The machine charm on a machine whose root is ``tmp_path``, its ``systemctl`` faked."""
    return machine_charm_run(tmp_path, monkeypatch)


@pytest.fixture
def k8s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> K8sCharmRun:
    """The Kubernetes charm, with every Pebble start/stop/restart/replan recorded."""
    return k8s_charm_run(tmp_path, monkeypatch)


@pytest.fixture(params=["charm", "machine", "k8s"], ids=["fake", "machine", "k8s"])
def each_charm(request: pytest.FixtureRequest) -> CharmRun:
    """The shared charm on the fake, then each variant's entrypoint on its service manager."""
    return request.getfixturevalue(request.param)
