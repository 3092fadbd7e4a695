"""A look without a cloud: both charms deploy the blog on real service managers, here.

Run as root from the project's root, with the ``unit`` dependency group
(``tox -e demo`` does both)::

    python -m tools.demo [--hold [SECONDS]] [--k8s-port PORT]

It brings up the two substrates of the substrate tests, each with its
``posts`` storage, deploys the blog through each charm's reconcile, switches
it to production, adds a post with the charm's ``add-post`` action, then
reboots the machine and reschedules the pod, and switches back to test.
It ends with a short run of the designs the guidance discusses
(``teaching/``) against the same charm, on the unit tier's fakes, its table
printed from that run; without ``teaching/`` it says so in one line.
After every step it prints one table row: the mode the blog reports, how
often the service manager has started it so far, the ``start_id`` the blog
reports on ``/health`` (new for every process start), and whether its front
page shows the post.

* **machine**: systemd booted in a ``systemd-nspawn`` container
  (:mod:`nocloud.nspawn`); the hooks run inside it under ``ops.testing``
  (:mod:`tests.substrate.machine_unit`). The container shares the host's
  network, so its blog answers on the host's ``127.0.0.1:8080``. Starts are
  systemd's "started" journal messages for the unit, over all boots.
* **k8s**: Pebble as PID 1 of an emulated pod, the assembled charm dispatched
  as Juju does (:mod:`nocloud.pebble_pod`, told about this charm by
  :mod:`tests.substrate.k8s_unit`). The pod has a network namespace of its
  own; :class:`nocloud.port_forward.PortForward` relays the host's
  ``127.0.0.1:8081`` to the blog in it. Starts are the start tasks in
  Pebble's changes, over all pods.

A reboot starts the blog once (systemd, at boot) and a reschedule once (the
new pod's first hook), in production mode from the config, with the post
still served from the storage; the hooks that follow each add no start. The
demo checks every row against what the step must do and says so when one
does not.

``--hold`` then keeps both blogs served until Ctrl-C (or for SECONDS).

Everything is torn down however the demo ends: normally, on an error, or on
SIGINT, SIGTERM or SIGHUP. A signal stops the demo after the step in
progress (a second or two; see :class:`nocloud.interrupts.SignalGuard`), and
nothing interrupts the teardown, which is bounded. As a last resort the demo
runs in a control group of its own (:class:`nocloud.nspawn.Confinement`) and
kills whatever is left in it at the end.

Exit status: 0 when every step did what it must; 1 when one did not or
something failed; 2 when a prerequisite is missing; 128 plus the signal's
number when a signal interrupted it (0 when it ends a ``--hold``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from nocloud import nspawn, pebble_pod, settings
from nocloud.interrupts import Interrupted, SignalGuard
from nocloud.port_forward import PortForward, port_in_use
from tests.substrate import k8s_unit, machine_unit
from tests.substrate.k8s_unit import PEBBLE_READY, K8sUnit
from tests.substrate.machine_unit import MachineBlog

# The blog listens on the same port on both substrates.
BLOG_PORT: Final = machine_unit.PORT
K8S_PORT: Final = 8081
# What a step does besides hooks: the machine's power cycle, the pod's reschedule.
REBOOT: Final = "(reboot)"
RESCHEDULE: Final = "(reschedule)"
# The post the demo adds with the charm's action, and finds on the front page.
ADD_POST: Final = "(add-post)"
POST_TITLE: Final = "Kept by Juju storage"
POST_BODY: Final = "Added with the add-post action before the reboot or the reschedule."

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_UNAVAILABLE: Final = 2
# The closing run of the tempting designs (``teaching/bench.py``'s first figure): this many
# scripted steps take about 10 s here, within its bound.
DESIGN_STEPS: Final = 30
DESIGN_RUN_TIMEOUT: Final = 60.0
# How long the blog may take to answer after a step, and how often --hold checks on both.
ANSWER_TIMEOUT: Final = 20.0
HOLD_POLL: Final = 1.0

# The errors a step can end with, reported in one line (anything else with its traceback).
STEP_ERRORS: Final = (
    machine_unit.HookError,
    pebble_pod.HookFailedError,
    nspawn.BootError,
    TimeoutError,
    AssertionError,
    subprocess.SubprocessError,
    OSError,
)
UNAVAILABLE_ERRORS: Final = (
    nspawn.SubstrateUnavailableError,
    pebble_pod.SubstrateUnavailableError,
)


class DemoError(Exception):
    """A substrate did something the demo cannot show as a row."""


def say(message: str) -> None:
    """A line of progress, on stdout with the table (so the two stay in order)."""
    print(f"demo: {message}", flush=True)


def warn(message: str) -> None:
    """A line about what went wrong, on stderr."""
    print(f"demo: {message}", file=sys.stderr, flush=True)


# --- What a row shows -------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """One look at a substrate: what the blog and its service manager report."""

    mode: str
    starts: int  # all starts so far on this substrate, as its service manager counts them
    start_id: str
    status: str  # the unit's status, "NAME: MESSAGE"
    post: bool  # whether the front page shows the demo's post


@dataclass(frozen=True)
class Step:
    """One thing done to a substrate, and what it must do to the blog."""

    event: str
    mode: str  # the configured mode, which the blog must serve afterwards
    adds: int  # the starts it must add
    note: str  # what the row says when it does exactly that
    hooks: tuple[
        str, ...
    ]  # run in order with ``mode`` configured; or REBOOT, RESCHEDULE, ADD_POST
    post: bool = False  # whether the front page must show the post afterwards


# The story on each substrate: deploy, a repeated config, production, a post,
# then a reboot or a reschedule, the hooks that follow it, and back to test.
MACHINE_STEPS: Final = (
    Step(
        "install+config-changed+start",
        "test",
        1,
        "first start",
        ("install", "config_changed", "start"),
    ),
    Step("config-changed (same)", "test", 0, "no restart", ("config_changed",)),
    Step("config-changed -> production", "production", 1, "restarted once", ("config_changed",)),
    Step("add-post", "production", 0, "served at once, no restart", (ADD_POST,), post=True),
    Step("reboot", "production", 1, "started once, by systemd; post kept", (REBOOT,), post=True),
    Step(
        "start+config-changed (rebooted)",
        "production",
        0,
        "no extra start",
        ("start", "config_changed"),
        post=True,
    ),
    Step("config-changed -> test", "test", 1, "restarted once", ("config_changed",)),
)
K8S_STEPS: Final = (
    Step(
        "install+config+start+pebble-ready",
        "test",
        1,
        "first start",
        ("install", "config-changed", "start", PEBBLE_READY),
    ),
    Step("config-changed (same)", "test", 0, "no restart", ("config-changed",)),
    Step("config-changed -> production", "production", 1, "restarted once", ("config-changed",)),
    Step("add-post", "production", 0, "served at once, no restart", (ADD_POST,), post=True),
    Step(
        "pod reschedule, upgrade-charm",
        "production",
        1,
        "started once, in the new pod; post kept",
        (RESCHEDULE, "upgrade-charm"),
        post=True,
    ),
    Step(
        "config+start+pebble-ready (new pod)",
        "production",
        0,
        "no extra start",
        ("config-changed", "start", PEBBLE_READY),
        post=True,
    ),
    Step("config-changed -> test", "test", 1, "restarted once", ("config-changed",)),
)


COLUMNS: Final = (
    ("substrate", 9),
    ("event", 35),
    ("mode", 10),
    ("starts", 6),
    ("start_id", 8),
    ("post", 4),
)
INTRO: Final = """\
machine: the machine charm, systemd booted in a container on this host's network
k8s:     the Kubernetes charm, Pebble as PID 1 of an emulated pod with its own network
starts:  the blog's starts so far, as systemd's journal (all boots) or Pebble's
         changes (all pods) count them; start_id: the blog's own, new for every start
post:    whether the front page shows the post added with add-post (posts storage)
"""


def table_line(*cells: str) -> str:
    """One line of the table: fixed-width columns, two spaces apart, then a free note."""
    fixed = [cell.ljust(width) for cell, (_, width) in zip(cells, COLUMNS, strict=False)]
    return "  ".join([*fixed, *cells[len(COLUMNS) :]]).rstrip()


def judge(step: Step, before: Reading | None, after: Reading) -> list[str]:
    """Where the reading after ``step`` differs from what the step must do."""
    problems: list[str] = []
    added = after.starts - (before.starts if before else 0)
    if added != step.adds:
        problems.append(f"{added:+d} starts, expected {step.adds:+d}")
    new_process = before is None or after.start_id != before.start_id
    if new_process != (step.adds > 0):
        problems.append("a new start_id" if new_process else "the same start_id")
    if after.mode != step.mode:
        problems.append(f"serves {after.mode} mode")
    if after.status != f"active: serving in {step.mode} mode":
        problems.append(f"unit status {after.status!r}")
    if after.post != step.post:
        problems.append("the post is shown" if after.post else "the post is gone")
    return problems


def shows_post(url: str) -> bool:
    """Whether the blog's front page at ``url`` shows the demo's post."""
    page = machine_unit.fetch("/", base=url)
    return page is not None and f"<h2>{POST_TITLE}</h2>" in page


# --- The two substrates -----------------------------------------------------------------------


class MachineSide:
    """The machine charm on systemd, booted in a container on the host's network."""

    name = "machine"
    url = machine_unit.BLOG_URL
    steps = MACHINE_STEPS

    def __init__(self, blog: MachineBlog):
        self.blog = blog
        self.earlier_boots = 0  # starts in boots before this one
        self.status = ""

    def act(self, step: Step) -> None:
        """Power cycle the machine, or run the charm's hooks with the step's mode configured."""
        if step.hooks == (REBOOT,):
            # No hook runs: the status stays.
            self.earlier_boots += len(self.blog.starts())
            self.blog.container.reboot()
            return
        if step.hooks == (ADD_POST,):
            [report] = self.blog.hooks(step.mode, f"add-post={POST_TITLE}={POST_BODY}")
            if report["status"] != "completed":
                raise DemoError(f"add-post failed: {report['message']}")
            return
        last = self.blog.hooks(step.mode, *step.hooks)[-1]
        self.status = f"{last['status']}: {last['message']}"

    def read(self) -> Reading:
        """The blog's health from the unit's main process, and systemd's starts over all boots."""
        health = self.blog.health(ANSWER_TIMEOUT)
        service = self.blog.service()
        starts = self.blog.starts()
        if starts[-1:] != [service.invocation_id]:
            raise DemoError(f"the journal's last start is not the running unit's: {service}")
        return Reading(
            health.mode,
            self.earlier_boots + len(starts),
            health.start_id,
            self.status,
            shows_post(self.url),
        )

    def alive(self) -> bool:
        """Whether the container still runs."""
        return self.blog.container.running


class K8sSide:
    """The Kubernetes charm on Pebble in an emulated pod, forwarded to the host."""

    name = "k8s"
    steps = K8S_STEPS

    def __init__(self, unit: K8sUnit, forward: PortForward):
        self.unit = unit
        self.forward = forward
        self.url = forward.url
        self.earlier_pods = 0  # starts in pods before this one

    def act(self, step: Step) -> None:
        """Set the step's mode and dispatch its hooks; the workload comes up at pebble-ready.

        A reschedule makes a new pod (after the old one's stop hook), its
        workload container started, as Juju's next hook finds it.
        """
        self.unit.juju.set_config(mode=step.mode)
        for hook in step.hooks:
            if hook == ADD_POST:
                _, result = self.unit.run_action(
                    "add-post", {"title": POST_TITLE, "body": POST_BODY}
                )
                if result.failed is not None:
                    raise DemoError(f"add-post failed: {result.failed}")
                continue
            if hook == RESCHEDULE:
                self.earlier_pods += self.unit.pod.pebble_record().starts
                self.forward.target(None)
                self.unit.reschedule()
                self.start_workload()
                continue
            if hook == PEBBLE_READY and self.unit.pod.workload is None:
                self.start_workload()
            self.unit.run(hook)

    def start_workload(self) -> None:
        """Start the current pod's workload container and forward to it."""
        workload = self.unit.pod.start_workload()
        self.forward.target(workload.pid)

    def read(self) -> Reading:
        """The blog's health through the forward, checked against Pebble and the pod itself."""
        health = pebble_pod.wait_for(
            lambda: machine_unit.health_now(base=self.url),
            f"the blog to answer at {self.url}",
            ANSWER_TIMEOUT,
        )
        pod = self.unit.pod
        record = pod.pebble_record()
        if [s.current for s in record.services] != ["active"] or pod.workload is None:
            raise DemoError(f"Pebble does not run exactly one active service: {record.services}")
        inside = k8s_unit.health(pod.workload, BLOG_PORT)
        if inside is None or inside["start_id"] != health.start_id:
            raise DemoError(f"the forward does not reach the pod's blog: {inside} != {health}")
        status, message = self.unit.juju.unit_status
        return Reading(
            health.mode,
            self.earlier_pods + record.starts,
            health.start_id,
            f"{status}: {message}",
            shows_post(self.url),
        )

    def alive(self) -> bool:
        """Whether the pod's workload container still runs."""
        workload = self.unit.pod.workload
        return workload is not None and workload.running


Side = MachineSide | K8sSide


# --- The demo ---------------------------------------------------------------------------------


def run_designs() -> None:
    """The same charm and the designs the guidance discusses, through one short script.

    Run afresh every time, in a process of its own (it fakes the service
    managers of the unit tier), and printed as it comes; skipped in one line
    when the template's user has removed the teaching material.
    """
    if importlib.util.find_spec("teaching") is None:
        say("no teaching/ here: the tempting designs are not run")
        return
    say(f"the tempting designs against this charm, {DESIGN_STEPS} scripted steps (teaching/)")
    command = [sys.executable, "-m", "teaching.bench", "--designs-only"]
    subprocess.run(  # noqa: S603 (this interpreter, on a module of the project)
        [*command, "--events", str(DESIGN_STEPS)],
        check=True,
        timeout=DESIGN_RUN_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


def missing_prerequisites() -> list[str]:
    """What this machine lacks for the demo (empty when nothing), each with its remedy."""
    if os.geteuid() != 0:
        return [
            "root: the demo boots a systemd container, mounts overlays and makes namespaces; "
            "run it as root"
        ]
    missing: list[str] = []
    requirements = nspawn.pinned_requirements(machine_unit.REQUIREMENTS)
    building = not nspawn.root_path(requirements).is_dir()
    if reason := nspawn.missing_prerequisite(building=building):
        missing.append(f"machine (systemd-nspawn): {reason}")
    try:
        k8s_unit.check_host()
    except pebble_pod.SubstrateUnavailableError as e:
        missing.append(f"k8s (Pebble pod): {e}")
    if pebble_pod.cached_pebble() is None and shutil.which("go") is None:
        missing.append(
            f"k8s (Pebble pod): Pebble {settings.PEBBLE_VERSION} is not built yet, and there "
            "is no `go` on PATH to build it (Go 1.21 or later)"
        )
    return missing


def busy_ports(k8s_port: int) -> list[str]:
    """Which of the ports the demo serves on are taken already, and by whom they are needed."""
    return [
        f"port {port} is in use; {who} needs it: stop what listens there"
        for port, who in ((BLOG_PORT, "the machine's blog"), (k8s_port, "the pod's forward"))
        if port_in_use(port)
    ]


def delete(workdir: Path) -> str | None:
    """Delete the demo's directory, never through a mount; None, or why it is not deleted."""
    if mounted := nspawn.mounts_below(workdir):
        return f"not deleting {workdir}: still mounted there: {mounted}"
    try:
        shutil.rmtree(workdir)
    except OSError as e:
        return f"deleting {workdir}: {e}"
    return None


class Demo:
    """One run: the substrates, the table, and the teardown of everything."""

    def __init__(self, args: argparse.Namespace, guard: SignalGuard):
        self.args = args
        self.guard = guard
        self.holding = False
        self.problems = 0
        self.header_printed = False
        self.timings: list[str] = []

    def run(self) -> int:
        """Play both substrates (and hold, if asked); tear everything down; the exit status."""
        began = time.monotonic()
        confinement = nspawn.Confinement(f"example-blog-demo-{os.getpid()}")
        stack = contextlib.ExitStack()
        workdirs: list[Path] = []
        code = EXIT_FAILED
        try:
            try:
                try:
                    workdirs.append(Path(tempfile.mkdtemp(prefix="example-blog-demo-")))
                    code = self._play(stack, workdirs[0])
                finally:
                    self.guard.disarm()
            except Interrupted as e:
                code = EXIT_OK if self.holding else 128 + e.signum
                say(f"{e} received; cleaning up")
            except UNAVAILABLE_ERRORS as e:
                warn(f"cannot run here: {e}")
                code = EXIT_UNAVAILABLE
            except (DemoError, *STEP_ERRORS) as e:
                if self.guard.received is None:
                    warn(f"failed: {type(e).__name__}: {e}")
                else:
                    # A signal reached the step's processes too (a terminal's Ctrl-C does).
                    say(f"stopping: the step in progress ended early ({type(e).__name__})")
                    code = EXIT_OK if self.holding else 128 + self.guard.received
            except Exception:
                traceback.print_exc()
        finally:
            code = self._teardown(stack, confinement, workdirs, code)
        say(f"done in {time.monotonic() - began:.1f} s")
        return code

    def _play(self, stack: contextlib.ExitStack, workdir: Path) -> int:
        self.guard.arm()
        say("preparing both substrates (a first run builds a Debian root and Pebble: minutes)")
        root = machine_unit.machine_root(progress=say)
        pebble = pebble_pod.pebble_binary()
        self.guard.checkpoint()

        machine = self._machine(stack, root, workdir / "machine")
        self._play_side(machine)
        k8s = self._k8s(stack, pebble, workdir / "k8s")
        self._play_side(k8s)

        print(flush=True)
        say("; ".join(self.timings))
        if self.problems:
            warn(f"{self.problems} row(s) did not show what the charm must do")
            return EXIT_FAILED
        say("every row shows what the charm must do")
        self.guard.checkpoint()
        run_designs()
        if self.args.hold is not None:
            self._hold([machine, k8s])
        return EXIT_OK

    def _machine(self, stack: contextlib.ExitStack, root: Path, workdir: Path) -> MachineSide:
        started = time.monotonic()
        container = stack.enter_context(machine_unit.machine_container(root, workdir))
        container.boot()
        self.timings.append(f"machine booted in {time.monotonic() - started:.1f} s")
        blog = MachineBlog(container)
        # What Juju does before install: the posts storage, mounted (and in fstab).
        blog.attach_storage(in_fstab=True)
        return MachineSide(blog)

    def _k8s(self, stack: contextlib.ExitStack, pebble: Path, workdir: Path) -> K8sSide:
        unit = stack.enter_context(K8sUnit(workdir, pebble, {"mode": "test"}))
        forward = stack.enter_context(PortForward(self.args.k8s_port, BLOG_PORT))
        return K8sSide(unit, forward)

    def _play_side(self, side: Side) -> None:
        started = time.monotonic()
        before: Reading | None = None
        steps = side.steps
        for step in steps:
            self.guard.checkpoint()
            side.act(step)
            after = side.read()
            problems = judge(step, before, after)
            self.problems += bool(problems)
            note = f"UNEXPECTED: {'; '.join(problems)}" if problems else step.note
            self._row(side.name, step.event, after, note)
            before = after
        elapsed = time.monotonic() - started
        self.timings.append(f"{side.name}: {len(steps)} steps in {elapsed:.1f} s")

    def _row(self, substrate: str, event: str, reading: Reading, note: str) -> None:
        if not self.header_printed:
            self.header_printed = True
            print(INTRO, flush=True)
            print(table_line(*(name for name, _ in COLUMNS), "what happened"), flush=True)
        post = "yes" if reading.post else "-"
        cells = (substrate, event, reading.mode, str(reading.starts), reading.start_id[:8], post)
        cells = (*cells, note)
        print(table_line(*cells), flush=True)

    def _hold(self, sides: list[Side]) -> None:
        for side in sides:
            if machine_unit.fetch("/", base=side.url) is None:
                raise DemoError(f"the {side.name} blog does not answer at {side.url}/")
        self.holding = True
        seconds: float = self.args.hold
        print("\nServing both blogs on this machine until Ctrl-C:", flush=True)
        for side in sides:
            print(f"  {side.name:<8} {side.url}/", flush=True)
        deadline = time.monotonic() + seconds if seconds > 0 else None
        with self.guard.waiting():
            while deadline is None or time.monotonic() < deadline:
                if stopped := [side.name for side in sides if not side.alive()]:
                    self.holding = False
                    raise DemoError(f"stopped serving: {', '.join(stopped)}")
                # Nothing to await but a signal or the deadline; meanwhile check both live.
                time.sleep(HOLD_POLL)

    def _teardown(
        self,
        stack: contextlib.ExitStack,
        confinement: nspawn.Confinement,
        workdirs: list[Path],
        code: int,
    ) -> int:
        """Undo everything in reverse; never raises, and says what it could not undo."""
        self.guard.disarm()
        started = time.monotonic()
        failures: list[str] = []
        try:
            stack.close()
        except Exception as e:
            failures.append(f"{type(e).__name__}: {e}")
        try:
            confinement.close()
        except Exception as e:
            failures.append(f"{type(e).__name__}: {e}")
        if confinement.leftovers:
            warn(f"cleanup: killed leftover processes {sorted(confinement.leftovers)}")
            if code == EXIT_OK:
                failures.append("something was left running after the orderly teardown")
        failures += [failure for workdir in workdirs if (failure := delete(workdir))]
        for failure in failures:
            warn(f"cleanup: {failure}")
        if failures:
            return code if code != EXIT_OK else EXIT_FAILED
        say(f"cleaned up in {time.monotonic() - started:.1f} s: nothing of the demo is left")
        if code == EXIT_OK and self.guard.received is not None and not self.holding:
            return 128 + self.guard.received
        return code


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.demo",
        description="Deploy the blog with both charms on real service managers, on this machine.",
    )
    parser.add_argument(
        "--hold",
        nargs="?",
        type=float,
        const=0.0,
        metavar="SECONDS",
        help="afterwards keep both blogs served on localhost until Ctrl-C (or for SECONDS)",
    )
    parser.add_argument(
        "--k8s-port",
        type=int,
        default=K8S_PORT,
        metavar="PORT",
        help=f"the host's port the pod's blog is forwarded to (default {K8S_PORT})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Check the prerequisites, run the demo, and return its exit status."""
    args = parse_args(argv)
    with SignalGuard("demo") as guard:
        missing = missing_prerequisites() + busy_ports(args.k8s_port)
        if guard.received is not None:
            return 128 + guard.received
        if missing:
            print("demo: cannot run here, missing:", file=sys.stderr)
            for item in missing:
                print(f"  - {item}", file=sys.stderr)
            return EXIT_UNAVAILABLE
        return Demo(args, guard).run()


if __name__ == "__main__":
    sys.exit(main())
