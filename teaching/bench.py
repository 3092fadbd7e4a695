"""What the stateless reconcile costs and saves, measured: ``tox -e bench`` (root; not pass/fail).

``docs/stateless-reconcile.md`` claims three things of the reconcile: it
restarts the blog only when something really changed, a needed restart
costs the blog little, and the reads it makes on every hook are cheap. The
tests prove the first as a rule; this puts a number on each, so that a
reader can weigh the pattern against the designs it replaces.

Run from the project's root, with the ``unit`` dependency group::

    python -m teaching.bench [--changes N] [--hooks N]

Prints three figures:

1. **Restarts against the minimum needed**, per variant, for this charm and
   the two tempting alternatives of ``teaching/designs.py``, over one
   scripted sequence of a few hundred events, hand edits, reboots and
   reschedules (seeded, so every run replays the same one). The minimum is
   the number of hooks that met a blog not serving the configured mode from
   a current file. The faked service managers and blog of the unit tier
   (``tests/support``) count the starts.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in ("src", "machine/src", "k8s/src", "tools"):
    sys.path.insert(0, str(ROOT / path))

# After the paths: these import the charm's modules.
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
from workload import MODE_FILE  # noqa: E402

SEED = 2026
EVENTS = 300
PORT = 8080
POLL_TIMEOUT = 0.2
CLONE_NEWNET = 0x40000000
NOOP_CHARM = "#!/usr/bin/env python3\nimport ops\n\nops.main(ops.CharmBase)\n"


# --- 1. restarts against the minimum ------------------------------------------------------------


def script(variant: str) -> list[tuple[str, str]]:
    """The seeded sequence: (step, mode) pairs; the mode is what is configured at that step."""
    rng = random.Random(SEED)  # noqa: S311 (a replayable script, not a secret)
    mode, steps = "test", []
    disturbance = "reboot" if variant == "machine" else "reschedule"
    kinds = ["same", "toggle", "update_status", "upgrade_charm", "start", "damage", disturbance]
    weights = [30, 15, 20, 10, 10, 5, 10]
    for _ in range(EVENTS):
        kind = rng.choices(kinds, weights)[0]
        if kind == "toggle":
            mode = "production" if mode == "test" else "test"
        steps.append((kind, mode))
    return steps


def charm_run(variant: str, root: Path, monkeypatch: pytest.MonkeyPatch, design: str) -> CharmRun:
    """The unit tier's run of ``variant``: the shipped charm (``design`` "this") or a design."""
    run: CharmRun = (machine_charm_run if variant == "machine" else k8s_charm_run)(
        root, monkeypatch
    )
    if design == "this":
        return run
    as_charm = designs.machine_charm if variant == "machine" else designs.k8s_charm
    return run.running(as_charm(designs.DESIGNS[design]))


def replay(variant: str, design: str) -> str:
    """Replay the script; "starts / minimum = ratio", or how the design failed."""
    monkeypatch = pytest.MonkeyPatch()
    with tempfile.TemporaryDirectory(prefix="example-blog-bench-") as scratch:
        try:
            return _replay(charm_run(variant, Path(scratch), monkeypatch, design), variant)
        finally:
            monkeypatch.undo()


def _replay(charm: CharmRun, variant: str) -> str:
    on = charm.ctx.on
    state = charm.fresh("test")
    starts = minimum = wrong = 0
    steps = [("install", "test"), *script(variant)]
    for index, (step, mode) in enumerate(steps):
        kind = step
        if kind == "damage":
            charm.file(MODE_FILE).unlink(missing_ok=True)
            continue
        if kind == "reboot" and isinstance(charm, MachineCharmRun):
            starts += charm.starts  # systemd's boot start is not the charm's
            charm.systemctl.reboot()
            kind = "start"
        elif kind == "reschedule" and isinstance(charm, K8sCharmRun):
            charm.wipe()
            state = charm.fresh(mode)
            kind = "upgrade_charm"
        event = {
            "install": on.install(),
            "same": on.config_changed(),
            "toggle": on.config_changed(),
            "update_status": on.update_status(),
            "upgrade_charm": on.upgrade_charm(),
            "start": on.start(),
        }[kind]
        mode_file = charm.file(MODE_FILE)
        current = mode_file.exists() and mode_file.read_text().strip() == mode
        minimum += not (charm.blog.serving == mode and current)
        try:
            state = charm.run(event, with_mode(state, mode))
            if isinstance(charm, K8sCharmRun) and kind in ("install", "upgrade_charm"):
                state = charm.run(on.pebble_ready(state.get_container("blog")), connect(state))
        except testing.errors.UncaughtCharmError as e:
            so_far = starts + charm.starts
            reason = str(e.__cause__).replace(str(charm.root), "").split(": [Errno")[0]
            return (
                f"hook failed at event {index} ({step}), after {so_far} starts / {minimum} "
                f"needed: {type(e.__cause__).__name__}: {reason}"
            )
        wrong += kind != "install" and charm.blog.serving != mode
    starts += charm.starts
    ratio = f"{starts} starts / {minimum} needed = {starts / minimum:.2f}"
    return f"{ratio}; blog down or in the wrong mode after {wrong} of {len(steps)} events"


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
    parser.add_argument("--changes", type=int, default=5, help="mode changes per substrate")
    parser.add_argument("--hooks", type=int, default=25, help="no-op hooks per charm")
    args = parser.parse_args(argv)
    print(f"1. restarts against the minimum needed ({EVENTS} scripted events, seed {SEED})")
    for variant in ("machine", "k8s"):
        for design in ("this", "always-restart", "stored-state"):
            print(f"   {variant:8} {design:15} {replay(variant, design)}", flush=True)
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
