"""Hypothesis searches every sequence of Juju events, hand edits and failures for a wrong start.

One ``RuleBasedStateMachine`` per variant drives the charm through its own
entrypoint, on the faked service manager and fake blog of ``tests/support``
(the shared rules meet each substrate's own disturbances here, so this
search runs on the variants, not on the Workload fake): valid and invalid
config, every event the charm sees, the mode file deleted, emptied or
garbled by hand, a start that fails (another process on the blog's port),
and per substrate a machine reboot, or a pod reschedule (fresh filesystem, no
charm memory) and Pebble unreachable for a while. After every hook:

* the charm started the blog at most once, and only if the blog was not
  already serving the configured mode from a current file;
* an invalid config changed nothing;
* no exception escaped the charm (ops.testing raises it).

The ``settle`` rule (and the end of every run) frees the port, brings Pebble
back and runs ``update-status``: then the file holds the valid config, the blog
serves it, and the unit is Active. The default profile runs well under a
minute; ``EXAMPLE_BLOG_HYPOTHESIS_PROFILE=large`` searches far longer.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Generic, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule
from ops import testing

from example_blog import MODES
from tests.support.charm_run import CharmRun, with_mode
from tests.support.service_managers import (
    K8sCharmRun,
    MachineCharmRun,
    connect,
    k8s_charm_run,
    machine_charm_run,
)
from workload import MODE_FILE

for profile, examples, steps in (("default", 25, 25), ("large", 500, 60)):
    settings.register_profile(
        profile,
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
R = TypeVar("R", bound=CharmRun)
PROFILE = os.environ.get("EXAMPLE_BLOG_HYPOTHESIS_PROFILE", "default")

CONFIGS = st.sampled_from([*MODES, "Test", " production", "prod", ""])
DAMAGE = st.sampled_from(["deleted", "emptied", "garbled"])


class CharmStates(RuleBasedStateMachine, Generic[R]):
    """What both variants share; subclasses add their substrate's own disturbances."""

    charm: R

    def __init__(self) -> None:
        super().__init__()
        self._monkeypatch = pytest.MonkeyPatch()
        self._tmp = tempfile.TemporaryDirectory(prefix="example-blog-states-")
        self.charm = self.make(Path(self._tmp.name), self._monkeypatch)
        self.state = self.charm.deploy("test")
        self.mode = "test"  # what is configured, valid or not
        self.wanted = "test"  # the last valid mode: what the blog must end up serving

    def make(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> R:
        raise NotImplementedError

    def teardown(self) -> None:
        try:
            self.settle()
        finally:
            self._monkeypatch.undo()
            self._tmp.cleanup()

    # --- what a hook may do -----------------------------------------------------------------

    def mode_file(self) -> str | None:
        path = self.charm.file(MODE_FILE)
        try:
            return path.read_text()
        except (OSError, UnicodeDecodeError):
            return None

    def hook(self, event: object) -> None:
        """Run one hook and check what it may have done."""
        needed = not (
            self.charm.blog.serving == self.wanted
            and (self.mode_file() or "").strip() == self.wanted
        )
        before_file, before = self.mode_file(), self.charm.starts
        self.state = self.charm.run(event, with_mode(self.state, self.mode))
        started = self.charm.starts - before
        assert started <= (1 if needed else 0), (self.wanted, needed, started)
        if self.mode not in MODES:
            assert (started, self.mode_file()) == (0, before_file), "an invalid config acted"

    # --- rules ------------------------------------------------------------------------------

    @rule(value=CONFIGS)
    def configure(self, value: str) -> None:
        self.mode = value
        if value in MODES:
            self.wanted = value
        self.hook(self.charm.ctx.on.config_changed())

    @rule(event=st.sampled_from(["update_status", "upgrade_charm", "start"]))
    def event(self, event: str) -> None:
        self.hook(getattr(self.charm.ctx.on, event)())

    @rule(damage=DAMAGE)
    def damage_mode_file(self, damage: str) -> None:
        path = self.charm.file(MODE_FILE)
        if damage == "deleted":
            path.unlink(missing_ok=True)
        elif path.parent.exists():
            path.write_bytes(b"" if damage == "emptied" else b"prod\x00uction??\n")

    @rule(taken=st.booleans())
    def port(self, taken: bool) -> None:
        """Another process takes the blog's port (its next start fails), or frees it."""
        self.charm.blog.port_taken = taken

    @rule()
    def settle(self) -> None:
        """The cause of every failure removed, and one more hook: the unit must be right."""
        self.charm.blog.port_taken = False
        self.recover()
        self.hook(self.charm.ctx.on.update_status())
        if self.mode in MODES:
            assert self.mode_file() == f"{self.mode}\n"
            assert self.charm.blog.serving == self.mode
            assert self.state.unit_status == testing.ActiveStatus(f"serving in {self.mode} mode")
        else:
            assert self.state.unit_status.name == "blocked"

    def recover(self) -> None:
        """Undo a substrate's own disturbance (Pebble back); nothing to do on a machine."""


class MachineStates(CharmStates[MachineCharmRun]):
    """The machine charm, with reboots."""

    def make(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> MachineCharmRun:
        return machine_charm_run(root, monkeypatch)

    @rule()
    def reboot(self) -> None:
        """The enabled blog is started at boot by systemd, not the charm; then Juju runs start."""
        self.charm.systemctl.reboot()
        self.hook(self.charm.ctx.on.start())


class K8sStates(CharmStates[K8sCharmRun]):
    """The Kubernetes charm, with pod reschedules and Pebble going away for a while."""

    def __init__(self) -> None:
        super().__init__()
        self.pebble_up = True

    def make(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> K8sCharmRun:
        return k8s_charm_run(root, monkeypatch)

    @rule()
    def reschedule(self) -> None:
        """A new pod: fresh filesystem and Pebble, no charm memory; Juju starts with upgrade."""
        self.charm.wipe()
        self.state = dataclasses.replace(self.charm.fresh(self.wanted), stored_states=frozenset())
        self.pebble_up = True
        self.hook(self.charm.ctx.on.upgrade_charm())

    @rule()
    def pebble_away(self) -> None:
        self.pebble_up = False
        self.state = connect(self.state, can_connect=False)

    @precondition(lambda self: self.pebble_up)
    @rule()
    def pebble_ready(self) -> None:
        self.hook(self.charm.ctx.on.pebble_ready(self.state.get_container("blog")))

    def recover(self) -> None:
        if not self.pebble_up:
            self.pebble_up = True
            self.state = connect(self.state)
            self.pebble_ready()


TestMachineStates = MachineStates.TestCase
TestMachineStates.settings = settings.get_profile(PROFILE)
TestK8sStates = K8sStates.TestCase
TestK8sStates.settings = settings.get_profile(PROFILE)
