"""What the stateless reconcile costs and saves, measured: ``tox -e bench`` (root; not pass/fail).

``docs/stateless-reconcile.md`` claims three things of the reconcile: it
restarts the blog only when something really changed, a needed restart
costs the blog little, and the reads it makes on every hook are cheap. The
tests prove the first as a rule; this puts a number on each, so that a
reader can weigh the pattern against the designs it replaces.

Run from the project's root, with the ``unit`` dependency group::

    python -m teaching.bench [--events N] [--designs-only] [--changes N] [--hooks N]

Prints three figures:

1. **Every design through one script**, per variant: this charm and the
   designs of ``teaching/designs.py`` (but 7, a substrate test) over one
   seeded sequence of a few hundred steps (config repeats and changes, hand
   edits, a blog that dies, a failed start, reboots; reschedules, container
   restarts, Pebble briefly away), on the unit tier's fakes
   (``tests/support``). Per row: starts against the minimum this charm's
   run needed (hooks that met a blog not serving the configured mode from a
   current file, Pebble up); the events after which the blog was down or in
   the wrong mode through the design's own fault (this charm served the
   right mode after the same event); hook errors; the first failure.
2. **Downtime of one mode change** on the real systemd and the real Pebble of
   the substrate tier: a poller asks ``/health`` every millisecond or so while
   ``config-changed`` switches the mode; the downtime is the longest stretch
   without an answer. Median of N changes, in milliseconds.
3. **The cost of a hook that finds nothing to do**, through the real
   ``dispatch`` and ``ops.main`` in the emulated pod: ``update-status`` of
   this charm against a do-nothing ops charm in the same pod and run,
   alternated, median of N each.
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import http.client
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in ("src", "machine/src", "k8s/src", "tools"):
    sys.path.insert(0, str(ROOT / path))

# After the paths: these import the charm's modules.
import ops  # noqa: E402
import pytest  # noqa: E402
from ops import testing  # noqa: E402

from nocloud import pebble_pod  # noqa: E402
from teaching import designs  # noqa: E402
from tests.substrate.k8s_unit import PEBBLE_READY, K8sUnit  # noqa: E402
from tests.substrate.machine_unit import MachineBlog, machine_container, machine_root  # noqa: E402
from tests.support.charm_run import CharmRun, with_mode  # noqa: E402
from tests.support.service_managers import (  # noqa: E402
    K8sCharmRun,
    MachineCharmRun,
    connect,
    k8s_charm_run,
    machine_charm_run,
)
from workload import CODE_FILE, MODE_FILE, SERVICE_NAME  # noqa: E402

ACTIVE = ops.pebble.ServiceStatus.ACTIVE
INACTIVE = ops.pebble.ServiceStatus.INACTIVE

SEED = 2026
EVENTS = 300
PORT = 8080
POLL_TIMEOUT = 0.2
CLONE_NEWNET = 0x40000000
NOOP_CHARM = "#!/usr/bin/env python3\nimport ops\n\nops.main(ops.CharmBase)\n"


# --- 1. every design through one scripted sequence ---------------------------------------------

# The shipped charm, then the designs of ``teaching/designs.py`` the bench runs (7 is a
# substrate test: its fault is in the middle of a hook).
BENCH_DESIGNS = (
    "this",
    "always-restart",
    "stored-state",
    "stored-unset",
    "stored-juju",
    "read-file-first",
    "pebble-ready-once",
    "cached-config",
    "defer",
)
# What happens to the unit, by how often. Each is some hooks, or a fault and the hooks
# Juju runs after it; "hand_edit" and "blog_dies" run none (the next step's hooks meet them).
COMMON_STEPS = {
    "same": 24,
    "toggle": 14,
    "update_status": 20,
    "upgrade_charm": 6,
    "hand_edit": 5,
    "blog_dies": 4,
    "failed_start": 3,
}
VARIANT_STEPS = {
    "machine": {"reboot": 8},
    "k8s": {"reschedule": 5, "container_restart": 5, "pebble_away": 4},
}
# The hooks each step runs; Juju follows a reboot with start and (usually) config-changed, a
# reschedule with the new pod's install-less start sequence, a new container with pebble-ready.
STEP_HOOKS = {
    "deploy": ("install", "config_changed", "start"),
    "same": ("config_changed",),
    "toggle": ("config_changed",),
    "update_status": ("update_status",),
    "upgrade_charm": ("upgrade_charm",),
    "hand_edit": (),
    "blog_dies": (),
    "failed_start": ("config_changed",),
    "reboot": ("start", "config_changed"),
    "reschedule": ("upgrade_charm", "config_changed", "start", "pebble_ready"),
    "container_restart": ("pebble_ready",),
    "pebble_away": ("config_changed",),
}
# Steps that change the configured mode.
TOGGLES = ("toggle", "failed_start", "pebble_away")
# Steps after whose hooks no charm can serve the new mode (the port is taken, Pebble is away).
EXCUSED = ("failed_start", "pebble_away")


def other(mode: str) -> str:
    """The mode that is not ``mode``."""
    return "production" if mode == "test" else "test"


def script(variant: str, events: int = EVENTS) -> list[tuple[str, str]]:
    """The seeded sequence: (step, mode) pairs; the mode is what is configured at that step.

    Every kind of step comes once first (in a seeded order), so that even a
    short run meets each fault; the rest are drawn by weight.
    """
    rng = random.Random(SEED)  # noqa: S311 (a replayable script, not a secret)
    weights = COMMON_STEPS | VARIANT_STEPS[variant]
    kinds = rng.sample(list(weights), len(weights))
    kinds += rng.choices(list(weights), list(weights.values()), k=max(events - len(kinds), 0))
    mode, steps = "test", [("deploy", "test")]
    for kind in kinds[:events]:
        if kind in TOGGLES:
            mode = other(mode)
        steps.append((kind, mode))
    return steps


def charm_run(variant: str, root: Path, monkeypatch: pytest.MonkeyPatch, design: str) -> CharmRun:
    """The unit tier's run of ``variant``: the shipped charm (``design`` "this") or a design."""
    run: CharmRun = (machine_charm_run if variant == "machine" else k8s_charm_run)(
        root, monkeypatch
    )
    if design == "this":
        return run
    return run.running(designs.charm_for(variant, design))


@dataclass
class Run:
    """What one replay saw: per event (hook), whether the blog served the configured mode."""

    starts: int = 0
    # Hooks that met a blog not serving the configured mode from a current file, Pebble up.
    needed: int = 0
    labels: list[str] = field(default_factory=list)
    serving: list[bool] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)
    # Events after which no charm need serve: a deploy's first hooks, a failed start, Pebble away.
    excused: set[int] = field(default_factory=set)


class Replay:
    """One charm through the script, on the unit tier's fakes of its variant."""

    def __init__(self, charm: CharmRun, keeps_memory: bool):
        self.charm = charm
        self.keeps_memory = keeps_memory
        self.state = charm.fresh("test")
        self.run = Run()

    def step(self, index: int, kind: str, mode: str) -> None:
        """The fault of step ``kind``, then its hooks with ``mode`` configured."""
        charm = self.charm
        if fault := getattr(self, f"fault_{kind}", None):
            fault(mode)
        hooks = STEP_HOOKS[kind]
        if isinstance(charm, K8sCharmRun) and kind == "deploy":
            hooks = (*hooks, "pebble_ready")
        for number, hook in enumerate(hooks, 1):
            if kind in EXCUSED or (kind == "deploy" and number < len(hooks)):
                self.run.excused.add(len(self.run.labels))
            self.hook(f"step {index} ({kind}): {hook}", hook, mode, kind != "pebble_away")
        charm.blog.port_taken = False
        self.state = connect(self.state) if isinstance(charm, K8sCharmRun) else self.state

    def fault_hand_edit(self, mode: str) -> None:
        """An operator writes the other mode into the file (if there is one)."""
        target = self.charm.file(MODE_FILE)
        if target.exists():
            target.write_text(f"{other(mode)}\n")

    def fault_blog_dies(self, _: str) -> None:
        """The blog exits for good (its service manager gave up restarting it)."""
        self.charm.blog.stop()

    def fault_failed_start(self, _: str) -> None:
        """Another process holds the blog's port during the step's hooks."""
        self.charm.blog.port_taken = True

    def fault_pebble_away(self, _: str) -> None:
        """Pebble does not answer during the step's hooks, and comes back without restarting."""
        self.state = connect(self.state, can_connect=False)

    def fault_reboot(self, _: str) -> None:
        """The machine reboots: systemd starts the enabled blog (not the charm's start)."""
        if isinstance(self.charm, MachineCharmRun):
            self.run.starts += self.charm.starts
            self.charm.systemctl.reboot()

    def fault_reschedule(self, mode: str) -> None:
        """A new pod: new files and Pebble; the memory only if the controller keeps it."""
        self.charm.wipe()
        kept = self.state.stored_states if self.keeps_memory else frozenset()
        self.state = dataclasses.replace(self.charm.fresh(mode), stored_states=kept)

    def fault_container_restart(self, _: str) -> None:
        """The workload container restarts in its pod: its files and Pebble's plan are new."""
        if isinstance(self.charm, K8sCharmRun):
            for location in (MODE_FILE, CODE_FILE):
                shutil.rmtree(self.charm.file(location).parent, ignore_errors=True)
            self.charm.blog.stop()
            self.state = dataclasses.replace(self.state, containers={self.charm.container()})

    def hook(self, label: str, hook: str, mode: str, reachable: bool) -> None:
        """Run one hook; note whether it was needed, failed, and left the right mode served."""
        charm, run = self.charm, self.run
        current = charm.file(MODE_FILE).exists() and (
            charm.file(MODE_FILE).read_text().strip() == mode
        )
        run.needed += reachable and not (charm.blog.serving == mode and current)
        state = self.pebble_truth(with_mode(self.state, mode))
        on = charm.ctx.on
        event = on.pebble_ready(state.get_container("blog")) if hook == "pebble_ready" else None
        try:
            self.state = charm.run(event or getattr(on, hook)(), state)
        except testing.errors.UncaughtCharmError as e:
            cause = e.__cause__
            reason = getattr(cause, "strerror", None) or str(cause).replace(str(charm.root), "")
            run.errors[len(run.labels)] = f"hook error, {type(cause).__name__}: {reason}"
        run.labels.append(label)
        run.serving.append(charm.blog.serving == mode)

    def pebble_truth(self, state: testing.State) -> testing.State:
        """The state with Pebble reporting what the fake blog does (it died, or a hook failed)."""
        if not isinstance(self.charm, K8sCharmRun):
            return state
        container = state.get_container("blog")
        if SERVICE_NAME not in container.plan.services:
            return state
        status = ACTIVE if self.charm.blog.serving else INACTIVE
        container = dataclasses.replace(container, service_statuses={SERVICE_NAME: status})
        return dataclasses.replace(state, containers={container})


def replay(variant: str, design: str, events: int = EVENTS) -> Run:
    """Replay the script with ``design`` (or "this") as the charm."""
    monkeypatch = pytest.MonkeyPatch()
    keeps_memory = design != "this" and designs.DESIGNS[design].juju_storage
    with tempfile.TemporaryDirectory(prefix="example-blog-bench-") as scratch:
        try:
            player = Replay(charm_run(variant, Path(scratch), monkeypatch, design), keeps_memory)
            for index, (kind, mode) in enumerate(script(variant, events)):
                player.step(index, kind, mode)
            player.run.starts += player.charm.starts
            return player.run
        finally:
            monkeypatch.undo()


def verdict(run: Run, this: Run) -> str:
    """The row of one charm, judged against the shipped charm's run of the same script.

    An event counts against a design only when the shipped charm served the
    configured mode after it: a fault that takes every blog down counts for
    none. The shipped charm's own row counts every event after which it did
    not serve, but those that no charm could (``EXCUSED``, a deploy's first hooks).
    """
    wrong = [
        i
        for i, ok in enumerate(run.serving)
        if not ok and i not in run.excused and (run is this or this.serving[i])
    ]
    failures = sorted({*wrong, *run.errors})
    first = "none"
    if failures:
        index = failures[0]
        what = run.errors.get(index, "blog down or in the wrong mode")
        first = f"{run.labels[index]}, {what}"
    return (
        f"{run.starts} starts / {this.needed} needed = {run.starts / this.needed:.2f}; "
        f"own-fault events {len(wrong)} of {len(run.serving)}; hook errors {len(run.errors)}; "
        f"first failure: {first}"
    )


def design_rows(events: int = EVENTS) -> Iterator[str]:
    """One line per variant and design, the shipped charm first."""
    for variant in ("machine", "k8s"):
        this = replay(variant, "this", events)
        for name in BENCH_DESIGNS:
            if name != "this" and variant not in designs.DESIGNS[name].variants:
                continue
            run = this if name == "this" else replay(variant, name, events)
            number = "-" if name == "this" else str(designs.DESIGNS[name].number)
            yield f"   {variant:8} {number} {name:17} {verdict(run, this)}"


# --- 2. downtime of a mode change -------------------------------------------------------------


class Poller:
    """Asks ``/health`` in a loop (in a network namespace, if given); keeps answer times."""

    def __init__(self, network: str | None = None):
        self.network = network
        self.samples: list[tuple[float, bool]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        if self.network:
            fd = os.open(self.network, os.O_RDONLY)
            try:
                if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns")
            finally:
                os.close(fd)
        while not self._stop.is_set():
            connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=POLL_TIMEOUT)
            try:
                connection.request("GET", "/health")
                ok = connection.getresponse().status == 200
            except (OSError, http.client.HTTPException):
                ok = False
            finally:
                connection.close()
            self.samples.append((time.monotonic(), ok))
            time.sleep(0.001)

    @contextmanager
    def polling(self) -> Iterator[Poller]:
        """Poll while the block runs; the samples are complete once it ends."""
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=5)

    def longest_gap(self) -> float:
        """Seconds between the last answer before the longest silence and the first after it."""
        gap, last_ok = 0.0, None
        for moment, ok in self.samples:
            if ok:
                if last_ok is not None:
                    gap = max(gap, moment - last_ok)
                last_ok = moment
        return gap


def median_ms(values: list[float]) -> str:
    """The median in milliseconds, with every value: one slow change shows, but does not decide."""
    return (
        f"{statistics.median(values) * 1000:.0f} ms (median of {len(values)}; "
        + ", ".join(f"{v * 1000:.0f}" for v in values)
        + ")"
    )


def machine_downtime(changes: int, workdir: Path) -> str:
    """The blog's longest silence per mode change, in a booted machine container under systemd.

    The hooks run inside the container (``tests/substrate/machine_driver.py``),
    so the stop, the write and the start are the charm's real ``systemctl``
    calls, and the poller asks the blog through the port the container shares.
    """
    with machine_container(machine_root(), workdir) as container:
        container.boot()
        blog = MachineBlog(container)
        blog.hooks("test", "install", "config_changed", "start")
        gaps = []
        for index in range(changes):
            mode = "production" if index % 2 == 0 else "test"
            poller = Poller()
            with poller.polling():
                time.sleep(0.2)
                blog.hooks(mode, "config_changed")
                time.sleep(0.2)
            gaps.append(poller.longest_gap())
        return median_ms(gaps)


def pod_unit(workdir: Path) -> pebble_pod.Unit:
    """A deployed unit of the Kubernetes charm in an emulated pod, its blog serving test mode."""
    unit = K8sUnit(workdir, pebble_pod.pebble_binary(), {"mode": "test"})
    unit.pod.start_workload()
    for hook in ("install", "config-changed", "start", PEBBLE_READY):
        unit.run(hook)
    return unit


def pebble_downtime(changes: int, workdir: Path) -> str:
    """The blog's longest silence per mode change under the real Pebble, polled inside the pod."""
    unit = pod_unit(workdir)
    try:
        gaps = []
        for index in range(changes):
            unit.juju.set_config(mode="production" if index % 2 == 0 else "test")
            poller = Poller(unit.pod.network.path)
            with poller.polling():
                time.sleep(0.2)
                unit.run("config-changed")
                time.sleep(0.2)
            gaps.append(poller.longest_gap())
        return median_ms(gaps)
    finally:
        unit.close()


# --- 3. the cost of a hook with nothing to do --------------------------------------------------


def hook_cost(hooks: int, workdir: Path) -> str:
    """What the reconcile adds to a hook that changes nothing, against ops' own cost.

    Both charms run in the same pod, through the same ``dispatch`` and
    ``ops.main``, alternated so that a slow moment of the machine falls on
    both alike: the difference is the reads the reconcile makes.
    """
    unit = pod_unit(workdir)
    try:
        pod = unit.pod
        charm_dir = pod.charm_dir
        noop = charm_dir.with_name("noop-charm")
        shutil.copytree(charm_dir, noop, symlinks=True)
        (noop / "src" / "charm.py").write_text(NOOP_CHARM)
        timings: dict[Path, list[float]] = {charm_dir: [], noop: []}
        for _ in range(hooks):
            for directory in (charm_dir, noop):
                pod.charm_dir = directory
                began = time.perf_counter()
                unit.run("update-status")
                timings[directory].append(time.perf_counter() - began)
        pod.charm_dir = charm_dir
        this, bare = statistics.median(timings[charm_dir]), statistics.median(timings[noop])
        return (
            f"{this * 1000:.0f} ms against {bare * 1000:.0f} ms for a do-nothing ops charm: "
            f"ratio {this / bare:.2f} (median of {hooks} each, alternated)"
        )
    finally:
        unit.close()


def main(argv: list[str] | None = None) -> int:
    """Print the three figures; the real-substrate ones only as root, who can run them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=EVENTS, help="scripted steps of figure 1")
    parser.add_argument("--changes", type=int, default=5, help="mode changes per substrate")
    parser.add_argument("--hooks", type=int, default=25, help="no-op hooks per charm")
    parser.add_argument(
        "--designs-only", action="store_true", help="figure 1 only (the demo's closing run)"
    )
    args = parser.parse_args(argv)
    print(f"1. every design through one script ({args.events} scripted steps, seed {SEED})")
    for row in design_rows(args.events):
        print(row, flush=True)
    if args.designs_only:
        return 0
    if os.geteuid() != 0:
        print("2, 3: need root (real systemd and Pebble); not measured")
        return 0
    with tempfile.TemporaryDirectory(prefix="example-blog-bench-") as scratch:
        work = Path(scratch)
        print("2. the blog unreachable during one mode change")
        print(f"   systemd  {machine_downtime(args.changes, work / 'machine')}", flush=True)
        print(f"   Pebble   {pebble_downtime(args.changes, work / 'pod')}", flush=True)
        print("3. an update-status hook that finds nothing to do, through dispatch (Pebble pod)")
        print(f"   {hook_cost(args.hooks, work / 'hooks')}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
