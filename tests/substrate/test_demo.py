"""The demo (``python -m tools.demo``) end to end, and what it leaves behind: nothing.

Each run is a subprocess started as a process group of its own, as a
terminal starts a job, inside a control group that the test makes for it and
with a marker in its environment. Afterwards nothing may be left: no process
in that group (where every process the demo starts lands, containers and pods
included) or with that marker, no new mount, nothing listening on the blogs'
ports, nothing in the temporary directory the demo was given.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nocloud import nspawn, pebble_pod
from tests.substrate import machine_unit
from tools import demo

REPO_ROOT = Path(__file__).resolve().parents[2]
PORTS = (demo.BLOG_PORT, demo.K8S_PORT)
MARK_ENV = "EXAMPLE_BLOG_DEMO_TEST_MARK"
# A warm run takes about 15 s; the first row comes after a few.
RUN_TIMEOUT = 120.0
ROW_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0
ROW = re.compile(r"^(machine|k8s)\s{2,}")
SUBSTRATES = ("machine", "k8s")


@pytest.fixture(scope="session")
def warm() -> None:
    """The demo's prerequisites, and its caches built here rather than inside a run's timeout."""
    if os.geteuid() != 0:
        pytest.skip("the demo needs root")
    if missing := demo.missing_prerequisites():
        pytest.skip(f"the demo cannot run here: {'; '.join(missing)}")
    try:
        machine_unit.machine_root()
        pebble_pod.pebble_binary()
    except (nspawn.SubstrateUnavailableError, pebble_pod.SubstrateUnavailableError) as e:
        pytest.skip(f"the demo cannot run here: {e}")


# --- What a run may leave behind ---------------------------------------------------------------


def make_cgroups() -> list[Path]:
    """A fresh group below the test's own in each hierarchy (none if one cannot be made)."""
    name = f"example-blog-demo-test-{uuid.uuid4().hex[:8]}"
    made: list[Path] = []
    try:
        for parent in nspawn.own_cgroups():
            (parent / name).mkdir()
            made.append(parent / name)
    except OSError:
        for group in made:
            group.rmdir()
        return []
    return made


def cgroup_dirs() -> set[Path]:
    """Every control group below the test's own, in every hierarchy."""
    return {
        Path(directory)
        for parent in nspawn.own_cgroups()
        for directory, _, _ in os.walk(parent)
        if Path(directory) != parent
    }


def cgroup_pids(group: Path) -> set[int]:
    return {int(pid) for procs in group.rglob("cgroup.procs") for pid in procs.read_text().split()}


def marked_pids(mark: str) -> set[int]:
    found: set[int] = set()
    needle = f"{MARK_ENV}={mark}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.add(int(entry.name))
    return found


def listening_ports() -> set[int]:
    """Ports with a listening TCP socket in this network namespace."""
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A":  # LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def mounts() -> set[str]:
    return set(Path("/proc/self/mountinfo").read_text().splitlines())


def describe(pids: set[int]) -> list[str]:
    lines = []
    for pid in sorted(pids):
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            lines.append(f"{pid}: {cmdline.decode(errors='replace')[:150]}")
    return lines


# --- One run of the demo -----------------------------------------------------------------------


@dataclass
class Before:
    """What the machine looked like before the run."""

    mounts: set[str]
    listening: set[int]
    cgroups: set[Path]


class DemoRun:
    """The demo as a subprocess, its output collected line by line as it comes."""

    def __init__(self, tmp: Path, *args: str):
        self.tmp = tmp
        self.mark = uuid.uuid4().hex
        self.groups = make_cgroups()
        self.out: list[str] = []
        self.err: list[str] = []
        self._changed = threading.Condition()
        command = [sys.executable, "-m", "tools.demo", *args]
        if self.groups:
            enter = " && ".join(f'echo $$ > "{group / "cgroup.procs"}"' for group in self.groups)
            command = ["sh", "-c", f'{enter} && exec "$@"', "demo", *command]
        env = {**os.environ, "TMPDIR": str(tmp), MARK_ENV: self.mark, "PYTHONUNBUFFERED": "1"}
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.process.stdout
        assert self.process.stderr
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Iterator[str], lines: list[str]) -> None:
        for line in stream:
            with self._changed:
                lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for_line(self, wanted: Callable[[str], bool], timeout: float) -> str:
        """The first line of stdout that is ``wanted``, waiting for it until ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if found := next((line for line in self.out if wanted(line)), None):
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not any(r.is_alive() for r in self._readers):
                    self.kill()
                    pytest.fail(f"no such line in the demo's output:\n{self.output()}")
                self._changed.wait(remaining)

    def finish(self, timeout: float) -> int:
        """Wait for the exit (killing the whole run after ``timeout``); the exit status."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the demo took longer than {timeout:.0f} s:\n{self.output()}")
        for reader in self._readers:
            reader.join(10)
        self.elapsed = time.monotonic() - self.started
        return code

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def output(self) -> str:
        return "\n".join([*self.out, "--- stderr ---", *self.err])

    @property
    def stderr(self) -> str:
        return "\n".join(self.err)

    def rows(self) -> dict[str, list[list[str]]]:
        """Per substrate, its rows' cells: event, mode, starts, start_id, post, note."""
        table: dict[str, list[list[str]]] = {name: [] for name in SUBSTRATES}
        for line in self.out:
            if ROW.match(line):
                substrate, *cells = re.split(r"\s{2,}", line, maxsplit=6)
                table[substrate].append(cells)
        return table

    def assert_nothing_left(self, before: Before) -> None:
        """No process, group, mount, listener or file of the run's is left."""
        for group in self.groups:
            assert not describe(cgroup_pids(group)), f"processes left in {group}"
        assert cgroup_dirs() - before.cgroups == set(self.groups), "control groups left"
        assert not describe(marked_pids(self.mark)), "processes left with the run's marker"
        assert mounts() == before.mounts
        assert not (listening_ports() - before.listening) & set(PORTS)
        assert list(self.tmp.iterdir()) == [], "files left in the temporary directory"

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()
        for group in self.groups:
            with contextlib.suppress(OSError):
                group.rmdir()


@pytest.fixture
def run_demo(
    warm: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., DemoRun]]:
    """Start the demo with arguments; each run gets a short temporary directory of its own."""
    runs: list[DemoRun] = []

    def start(*args: str) -> DemoRun:
        # Short, as the Unix sockets made below it may not have paths over 107 bytes.
        run = DemoRun(tmp_path_factory.mktemp("d"), *args)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.close()


@pytest.fixture
def before(warm: None) -> Before:
    if busy := listening_ports() & set(PORTS):
        pytest.fail(f"something already listens on {sorted(busy)}; a leftover blog?")
    return Before(mounts(), listening_ports(), cgroup_dirs())


# --- The tests ---------------------------------------------------------------------------------


def test_every_row_shows_one_start_per_deploy_and_per_real_change_and_nothing_is_left(
    run_demo: Callable[..., DemoRun], before: Before
):
    run = run_demo()

    code = run.finish(RUN_TIMEOUT)

    assert code == 0, run.output()
    assert "Traceback" not in run.stderr
    table = run.rows()
    for substrate in SUBSTRATES:
        rows = table[substrate]
        events = [row[0] for row in rows]
        assert "install" in events[0]
        assert events[1:4] == ["config-changed (same)", "config-changed -> production", "add-post"]
        assert ("reboot" if substrate == "machine" else "reschedule") in events[4]
        assert events[6] == "config-changed -> test"
        modes = [row[1] for row in rows]
        assert modes == ["test", "test", *["production"] * 4, "test"], substrate
        # Once at deploy, once per real toggle, once for the reboot or the new pod; no-ops: none.
        assert [int(row[2]) for row in rows] == [1, 1, 2, 2, 3, 3, 4], substrate
        ids = [row[3] for row in rows]
        changed = [ids[i] != ids[i - 1] for i in range(1, len(ids))]
        assert changed == [False, True, False, True, False, True], substrate
        # The post, added in production mode, is served from the storage across the reboot
        # or the reschedule.
        assert [row[4] for row in rows] == ["-", "-", "-", "yes", "yes", "yes", "-"], substrate
        assert rows[5][5] == "no extra start"
        assert not [row for row in rows if "UNEXPECTED" in row[5]]
    assert_designs_ran(run)
    run.assert_nothing_left(before)
    print(f"demo run: {run.elapsed:.1f} s")


DESIGN_ROW = re.compile(r"^   (machine|k8s)\s+(\S)\s+(\S+)\s+(\d+) starts / (\d+) needed")


def assert_designs_ran(run: DemoRun) -> None:
    """The closing run printed a row per variant and design that applies to it."""
    rows = [found.groups() for line in run.out if (found := DESIGN_ROW.match(line))]
    names = {(variant, name) for variant, _, name, _, _ in rows}
    for variant in SUBSTRATES:
        assert (variant, "this") in names, run.output()
        assert (variant, "stored-state") in names, run.output()
    assert ("k8s", "pebble-ready-once") in names
    assert ("machine", "pebble-ready-once") not in names


def test_ctrl_c_mid_run_stops_cleanly(run_demo: Callable[..., DemoRun], before: Before):
    run = run_demo()
    run.wait_for_line(lambda line: ROW.match(line) is not None, ROW_TIMEOUT)

    # A terminal's Ctrl-C goes to every process of the foreground job.
    os.killpg(run.process.pid, signal.SIGINT)
    code = run.finish(STOP_TIMEOUT)

    assert code == 128 + signal.SIGINT, run.output()
    assert "Traceback" not in run.stderr
    # The signal meets the demo between steps, or first ends the step's own
    # processes (they are in the foreground job too): either way it says so.
    stopped = (
        "demo: SIGINT received; cleaning up",
        "demo: stopping: the step in progress ended early",
    )
    assert any(line.startswith(stopped) for line in run.out), run.output()
    assert any("nothing of the demo is left" in line for line in run.out)
    assert sum(len(rows) for rows in run.rows().values()) < len(demo.MACHINE_STEPS) + len(
        demo.K8S_STEPS
    )
    run.assert_nothing_left(before)


def test_hold_serves_both_blogs_on_localhost_until_sigterm(
    run_demo: Callable[..., DemoRun], before: Before
):
    run = run_demo("--hold")
    for port in PORTS:
        run.wait_for_line(lambda line, p=port: f"http://127.0.0.1:{p}/" in line, RUN_TIMEOUT)

    pages = {port: machine_unit.fetch("/", base=f"http://127.0.0.1:{port}") for port in PORTS}
    health = {port: machine_unit.health_now(base=f"http://127.0.0.1:{port}") for port in PORTS}
    run.process.send_signal(signal.SIGTERM)
    code = run.finish(STOP_TIMEOUT)

    for port in PORTS:
        page, report = pages[port], health[port]
        assert page is not None, port
        assert "TEST MODE" in page, port
        assert report is not None, port
        assert report.mode == "test", port
    assert health[demo.BLOG_PORT] != health[demo.K8S_PORT]
    assert code == 0, run.output()
    assert "Traceback" not in run.stderr
    run.assert_nothing_left(before)


def test_without_root_it_says_so_and_starts_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)

    code = demo.main([])

    assert code == demo.EXIT_UNAVAILABLE
    error = capsys.readouterr().err
    assert "cannot run here" in error
    assert "root" in error


def test_a_busy_port_is_named_before_anything_starts(
    warm: None, capsys: pytest.CaptureFixture[str]
):
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]

        code = demo.main(["--k8s-port", str(port)])

    assert code == demo.EXIT_UNAVAILABLE
    assert f"port {port} is in use" in capsys.readouterr().err
