"""A Kubernetes pod of a sidecar charm, emulated with a real Pebble and real namespaces.

What Kubernetes and Juju give the charm, and how it is reproduced here:

**Pebble.** The real daemon, built from its Go module at a pinned version
(``settings.PEBBLE_VERSION``) by :mod:`nocloud.go_build` (which says why it
does not use ``go install``) and cached (:func:`nocloud.cache.cache_dir`).

**The workload container.** A fresh, empty root directory (its own writable
``/etc`` with ``root`` and the image's ``_daemon_`` user, ``/opt``, ``/var``,
``/tmp``, ``/run``) with the host's ``/usr`` (so ``/usr/bin/python3`` and
whatever else the workload runs) mounted read-only, standing for an image
such as ``ubuntu/python``. Pebble runs chrooted in it as PID 1 of its own PID
and mount namespace, with the command line and environment Juju 3.6 uses
(``pebble run --create-dirs --hold``,
``PEBBLE_SOCKET=/charm/container/pebble.socket``,
``PEBBLE=/charm/container/pebble``). Killing
PID 1 makes the kernel kill everything else in the container, as Kubernetes
does when a container dies; restarting the container starts a new Pebble on
a new, empty root (see ``pod_init``).

**The pod's network.** One network namespace per pod (loopback up, nothing
else), held by a process of its own, which both containers join: like a
pod's, it has its own ports, so the workload never meets anything on the
host's, the charm reaches the workload on ``127.0.0.1``, and it outlives a
restart of the workload container. :mod:`nocloud.port_forward` shows one of
its ports on the host.

**The pod's shared volume.** ``/charm/container`` in the workload container
is a directory of the pod, like the ``emptyDir`` Juju shares between the
charm and workload containers: Pebble's socket and state live there, and
survive a container restart but not a reschedule.

**Storage.** Each storage of the unit (``Unit(storage=...)``: a name and
where the workload container mounts it, as the charm's ``containers.<c>.mounts``
say) is a directory of the unit, not of a pod, like the PersistentVolume a
StatefulSet keeps for its pod: made once, it outlives :meth:`Unit.reschedule`.
Every workload container has it bind-mounted at its path, and the charm
container at ``/var/lib/juju/storage/<name>/0``, where Juju mounts it and
which ``storage-get location`` reports; the mounts are made inside each
container's own mount namespace, so they die with it.

**The charm container.** Each hook or action runs the charm (a directory laid out as
charmcraft packs it, given to :class:`Unit` and copied afresh into each pod)
through a ``dispatch`` script and ``ops.main``, exactly as Juju runs it, in
the pod's network and a private mount namespace whose root is the host's
plus ``/charm/containers/<container>``: the pod's volume, where ops finds the
socket at the path it hard-codes. The charm therefore talks to the real
Pebble through ``ops.pebble.Client`` with no part of ops replaced.

Why dispatch in a subprocess rather than ``ops.testing`` or an in-process
``ops.main``: the charm reaches Pebble only through
``Unit.get_container``, which opens the socket at that fixed path, and
nothing public lets a test hand it another client. Emulating the Juju side
(environment variables and hook tools, see ``hook_tools``) is public and
documented; reaching into ops' private backend would not be, and would test
an arrangement no real unit has.

**Faults.** :class:`PebbleProxy` sits between the charm and Pebble and kills
the workload container at a chosen request: after Pebble answered it (so the
charm's next call finds no Pebble), or with the request still open (so the
charm's connection drops mid-call).

Everything here is started with bounded timeouts and torn down by
:meth:`Unit.close`; mounts live only in namespaces that die with their
processes, and every process started dies with its starter (``setpriv
--pdeathsig``), also when the test run itself is killed.
"""

from __future__ import annotations

import contextlib
import fnmatch
import http.client
import json
import os
import posixpath
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Self, TypeVar

import ops

from nocloud import go_build, pod_init, squatter
from nocloud.hook_tools import ActionResult, HookTools, write_dispatch
from nocloud.settings import (
    COMMAND_TIMEOUT,
    DAEMON_ID,
    DAEMON_USER,
    HOOK_TIMEOUT,
    HOST_TREES,
    IO_TIMEOUT,
    PEBBLE_ENV,
    PEBBLE_INSIDE,
    PEBBLE_MODULE,
    PEBBLE_SOCKET,
    PEBBLE_VERSION,
    POLL,
    READY_TIMEOUT,
    STORAGE_DIR,
    STORAGE_INSIDE_CHARM,
    VOLUME_INSIDE,
)

POD_INIT = Path(pod_init.__file__).resolve()
SQUATTER = Path(squatter.__file__).resolve()
# A charm's entrypoint in its directory, charmcraft's convention.
ENTRYPOINT = ("./src/charm.py",)

T = TypeVar("T")


class SubstrateUnavailableError(Exception):
    """Raised when pods cannot run on this machine; the message says why."""


class HookFailedError(Exception):
    """Raised when a hook exits non-zero (the unit would be in error); carries its output."""


def wait_for(condition: Callable[[], T | None], what: str, timeout: float = READY_TIMEOUT) -> T:
    """Poll ``condition`` until it returns something other than None or False."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(POLL)


def _die_with_parent(argv: list[str]) -> list[str]:
    """The command, killed when the process that starts it dies (even by SIGKILL)."""
    return ["setpriv", "--pdeathsig", "KILL", "--", *argv]


# --- Pebble, built once per version ---------------------------------------------------------


def _reports_version(binary: Path, version: str) -> bool:
    try:
        result = subprocess.run(
            [binary, "version", "--client"],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except OSError:
        return False
    return result.returncode == 0 and result.stdout.strip() == version


def cached_pebble(version: str = PEBBLE_VERSION) -> Path | None:
    """The cached Pebble binary of ``version``, or None when it has to be built (with Go) first."""
    target = go_build.cached_path("pebble", version)
    return target if target.is_file() and _reports_version(target, version) else None


def pebble_binary(version: str = PEBBLE_VERSION) -> Path:
    """A static Pebble binary of ``version``, built with Go on first use and cached."""
    try:
        return go_build.go_binary(
            PEBBLE_MODULE,
            f"{PEBBLE_MODULE}/cmd/pebble",
            version,
            "pebble",
            works=lambda binary: _reports_version(binary, version),
        )
    except go_build.GoBuildError as e:
        raise SubstrateUnavailableError(str(e)) from None


def check_host(workload: Callable[[], str | None] | None = None) -> None:
    """Raise :class:`SubstrateUnavailableError` unless pods can run here (Pebble aside).

    ``workload`` checks what the charm's workload needs of the host's ``/usr``
    (the workload container's stand-in for an image): why it cannot run, or None.
    """
    if sys.platform != "linux":
        raise SubstrateUnavailableError("pods need Linux namespaces")
    if os.geteuid() != 0:
        raise SubstrateUnavailableError("pods need root (namespaces, mounts, chroot)")
    missing = [tool for tool in ("unshare", "nsenter", "setpriv") if shutil.which(tool) is None]
    if missing:
        raise SubstrateUnavailableError(
            f"missing {', '.join(missing)} (Debian package util-linux)"
        )
    if workload is not None and (reason := workload()):
        raise SubstrateUnavailableError(reason)
    trial = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount", "--net", "--propagation", "private", "true"],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if trial.returncode != 0:
        raise SubstrateUnavailableError(f"cannot create namespaces: {trial.stderr.strip()}")


# --- Talking to Pebble directly (the tests' side, not the charm's) ---------------------------


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: Path, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.socket_path))
        except OSError:
            sock.close()
            raise
        self.sock = sock


def pebble_api(socket_path: Path, method: str, path: str, body: Any = None) -> Any:
    """One call of Pebble's HTTP API; its ``result``. For what ops' client does not expose."""
    connection = _UnixConnection(socket_path, COMMAND_TIMEOUT)
    try:
        payload = None if body is None else json.dumps(body).encode()
        connection.request(method, path, body=payload)
        response = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    if response.get("type") == "error":
        raise RuntimeError(f"Pebble {method} {path}: {response['result']['message']}")
    return response["result"]


# --- The workload container -------------------------------------------------------------------


def _prepare_root(root: Path) -> None:
    """An empty image: the directories and accounts of ubuntu/python, nothing the charm writes."""
    for directory in ("etc", "opt", "var/lib", "tmp", "run", "root", "dev", "proc", "sys"):
        (root / directory).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    (root / VOLUME_INSIDE.lstrip("/")).mkdir(parents=True)
    (root / PEBBLE_INSIDE.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
    for name in HOST_TREES:
        host = Path("/", name)
        if host.is_symlink():
            (root / name).symlink_to(os.readlink(host))
    etc = root / "etc"
    (etc / "passwd").write_text(
        "root:x:0:0:root:/root:/usr/bin/false\n"
        f"{DAEMON_USER}:x:{DAEMON_ID}:{DAEMON_ID}::/nonexistent:/usr/bin/false\n"
    )
    (etc / "group").write_text(f"root:x:0:\n{DAEMON_USER}:x:{DAEMON_ID}:\n")
    # As the kubelet writes it into every pod.
    (etc / "hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")


def _child_of(parent: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("PPid:"):
                    if int(line.split()[1]) == parent:
                        return int(entry.name)
                    break
    return None


_HTTP_GET = """
import http.client, sys
connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
try:
    connection.request("GET", sys.argv[2])
    sys.stdout.write(connection.getresponse().read().decode())
except OSError as e:
    sys.exit(f"no answer: {e}")
"""


class PodNetwork:
    """The pod's network namespace, held by a process of its own (see ``pod_init network``).

    Every container of the pod joins it, as a Kubernetes pod's containers
    share one network: the charm's hooks reach the workload on ``127.0.0.1``,
    another process in the pod can take the workload's port, and a restarted
    workload container keeps the same network.
    """

    def __init__(self, directory: Path):
        ready = directory / "network-ready"
        command = ["unshare", "--net", "--", sys.executable, "-I", "-S", str(POD_INIT)]
        command += ["network", str(ready)]
        self._process = subprocess.Popen(
            _die_with_parent(command),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_for(lambda: self._alive() and ready.exists(), "the pod's network")
        except BaseException:
            self.close()
            raise
        self.path = f"/proc/{self._process.pid}/ns/net"

    def _alive(self) -> bool:
        if self._process.poll() is None:
            return True
        raise RuntimeError(f"the pod's network namespace exited ({self._process.returncode})")

    def enter(self, argv: list[str]) -> list[str]:
        """The command, run in the pod's network."""
        return ["nsenter", f"--net={self.path}", "--", *argv]

    def squat(self, port: int, ready: Path) -> subprocess.Popen[bytes]:
        """Another process in the pod that takes ``port`` as soon as it is free (see ``squatter``).

        It has created ``ready`` once it holds the port; kill it to free the port.
        """
        command = [sys.executable, "-I", "-S", str(SQUATTER), str(port), str(ready)]
        return subprocess.Popen(
            _die_with_parent(self.enter(command)),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def close(self) -> None:
        """Kill the process holding the namespace: the namespace goes with its last member."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait(timeout=COMMAND_TIMEOUT)


class WorkloadContainer:
    """One run of the workload container ``name``: a fresh root and Pebble as its PID 1."""

    def __init__(
        self,
        root: Path,
        pebble: Path,
        volume: Path,
        network: PodNetwork,
        name: str,
        storage: tuple[StorageVolume, ...] = (),
    ):
        self.root = root
        self.volume = volume
        self.socket_path = volume / PEBBLE_SOCKET
        _prepare_root(root)
        self.log_path = root.with_name(f"{root.name}.log")
        self._log: IO[bytes] = self.log_path.open("wb")
        command = ["unshare", "--pid", "--fork", "--kill-child", "--mount"]
        command += ["--propagation", "private", "--", sys.executable, "-I", "-S", str(POD_INIT)]
        command += ["workload", str(root), str(pebble), str(volume)]
        for mounted in storage:
            command += ["--bind", str(mounted.directory), mounted.mount]
        command = network.enter(command)
        self.pid = 0
        self._namespace: str | None = None
        self._process = subprocess.Popen(
            _die_with_parent(command),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # What Pebble runs with: pod_init passes it on, as Juju sets it.
            env={**PEBBLE_ENV, "JUJU_CONTAINER_NAME": name},
            start_new_session=True,
        )
        try:
            self.pid = wait_for(lambda: self._alive() and _child_of(self._process.pid), "PID 1")
            self._namespace = os.readlink(f"/proc/{self.pid}/ns/pid")
            wait_for(self._pebble_answers, "Pebble to answer on its socket")
        except BaseException:
            self.kill()
            raise

    def _alive(self) -> bool:
        if self._process.poll() is None:
            return True
        raise RuntimeError(f"the workload container exited early:\n{self.log()}")

    def _pebble_answers(self) -> bool:
        self._alive()
        try:
            pebble_api(self.socket_path, "GET", "/v1/system-info")
        except (OSError, http.client.HTTPException):
            return False
        return True

    def log(self) -> str:
        """Pebble's output (its log and the services' output), for failure messages."""
        return self.log_path.read_text(errors="replace")

    @property
    def running(self) -> bool:
        """Whether the container's PID 1 still runs."""
        return self._process.poll() is None

    def processes(self) -> list[int]:
        """Host PIDs of every process still in the container's PID namespace."""
        if self._namespace is None:
            return []
        found: list[int] = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.readlink(entry / "ns" / "pid") == self._namespace:
                        found.append(int(entry.name))
        return found

    def kill(self) -> None:
        """Kill PID 1, and so the whole container, as Kubernetes does; wait until all is gone."""
        if self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid or self._process.pid, signal.SIGKILL)
            try:
                self._process.wait(timeout=COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=COMMAND_TIMEOUT)
        wait_for(lambda: not self.processes(), "the container's processes to die")
        # An empty namespace is gone; its inode number may name a new one later.
        self._namespace = None
        self._log.close()

    def kill_process(self, marker: str) -> int:
        """SIGKILL the one process whose command line holds ``marker``, as the OOM killer would.

        Returns its pid on the host.
        """
        [pid] = [
            pid
            for pid in self.processes()
            if marker in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        ]
        os.kill(pid, signal.SIGKILL)
        return pid

    def fetch(self, port: int, path: str) -> str | None:
        """GET ``path`` on ``port`` from inside the pod's network; None if nothing answers."""
        result = subprocess.run(
            [
                *("nsenter", f"--target={self.pid}", "--net", "--"),
                *(sys.executable, "-I", "-S", "-c", _HTTP_GET, str(port), path),
            ],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
            start_new_session=True,
        )
        return result.stdout if result.returncode == 0 else None


# --- Faults between the charm and Pebble ------------------------------------------------------


@dataclass(frozen=True)
class KillPoint:
    """The request at which the workload container dies.

    ``method`` and ``path`` (an fnmatch pattern, query string excluded) pick
    requests; the ``occurrence``-th of them is the one. The container dies
    once Pebble has answered it and before the charm sees the answer, or, with
    ``in_flight``, while Pebble holds it (the charm's connection drops).
    """

    method: str
    path: str
    occurrence: int = 1
    in_flight: bool = False

    def matches(self, method: str, path: str) -> bool:
        """Whether a request is one of those counted."""
        return method == self.method and fnmatch.fnmatchcase(path, self.path)


@dataclass(frozen=True)
class ProxiedRequest:
    """One request the charm sent to Pebble through the proxy."""

    method: str
    path: str
    body: bytes

    def json(self) -> Any:
        """The body as JSON (Pebble's API bodies are JSON except for file uploads)."""
        return json.loads(self.body)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class PebbleProxy:
    """A relay on the charm's Pebble socket that kills the workload at a :class:`KillPoint`.

    Pebble's clients send one request per connection (``Connection: close``),
    so each connection is one request: the proxy reads its head, forwards it
    and relays the answer. At the kill point it kills the container and stops
    listening, so later connections are refused exactly as at the socket of a
    dead Pebble.
    """

    def __init__(self, directory: Path, upstream: Path, point: KillPoint, kill: Callable[[], Any]):
        self.directory = directory
        self.upstream = upstream
        self.point = point
        self.requests: list[ProxiedRequest] = []
        self.errors: list[BaseException] = []
        self.fired = threading.Event()
        self._kill = kill
        self._matches = 0
        directory.mkdir(parents=True)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(directory / PEBBLE_SOCKET))
        self._listener.listen()
        self._thread = threading.Thread(target=self._serve, name="pebble-proxy", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self.fired.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with client:
                try:
                    self._handle(client)
                except Exception as e:  # reported by close(), the thread must not die silently
                    self.errors.append(e)
                    self._stop_listening()

    def _handle(self, client: socket.socket) -> None:
        client.settimeout(IO_TIMEOUT)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = client.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        method, target = head.decode("latin-1").split(" ", 2)[:2]
        path = target.split("?", 1)[0]
        counted = self.point.matches(method, path)
        self._matches += counted
        fire = counted and self._matches == self.point.occurrence
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as upstream:
            upstream.settimeout(IO_TIMEOUT)
            upstream.connect(str(self.upstream))
            upstream.sendall(data)
            if fire and self.point.in_flight:
                self.requests.append(ProxiedRequest(method, path, body))
                self._fire()
                return
            rest, response = self._relay(client, upstream)
        self.requests.append(ProxiedRequest(method, path, body + rest))
        if fire:
            self._fire()
        client.sendall(response)

    @staticmethod
    def _relay(client: socket.socket, upstream: socket.socket) -> tuple[bytes, bytes]:
        """Forward the rest of the request; collect the answer until Pebble closes.

        Returns the rest of the request's body and the whole answer.
        """
        forwarded, response = bytearray(), bytearray()
        deadline = time.monotonic() + IO_TIMEOUT
        with selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ)
            selector.register(upstream, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                for key, _ in selector.select(timeout=1.0):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    chunk = source.recv(65536)
                    if source is upstream:
                        if not chunk:
                            return bytes(forwarded), bytes(response)
                        response += chunk
                    elif chunk:
                        forwarded += chunk
                        upstream.sendall(chunk)
                    else:
                        selector.unregister(client)
        raise TimeoutError("Pebble did not finish answering")

    def _fire(self) -> None:
        self.fired.set()
        self._kill()
        self._stop_listening()

    def _stop_listening(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def close(self) -> None:
        """Stop relaying; raise anything the relay thread ran into."""
        self._stop_listening()
        self._thread.join(timeout=IO_TIMEOUT)
        if self.errors:
            raise RuntimeError(f"the Pebble proxy failed: {self.errors[0]!r}") from self.errors[0]


# --- Pods and the unit ------------------------------------------------------------------------


@dataclass(frozen=True)
class StorageVolume:
    """One storage of the unit (its instance ``name/0``): a directory on the host, two mounts.

    ``mount`` is where the workload container mounts it; the charm container
    mounts it at :attr:`location`, which ``storage-get location`` reports.
    """

    name: str
    directory: Path
    mount: str

    @property
    def location(self) -> str:
        """Where the charm container mounts it, as Juju does on Kubernetes."""
        return f"{STORAGE_INSIDE_CHARM}/{self.name}/0"

    def below(self, path: str) -> Path | None:
        """Where a workload path under :attr:`mount` lies on the host, or None if not under it."""
        normal = posixpath.normpath(path)
        if normal == self.mount:
            return self.directory
        if normal.startswith(f"{self.mount}/"):
            return self.directory / normal.removeprefix(f"{self.mount}/")
        return None


@dataclass(frozen=True)
class HookResult:
    """How one dispatched hook ended."""

    hook: str
    returncode: int
    output: str  # the hook's own output, then what it logged with juju-log

    @property
    def ok(self) -> bool:
        """Whether the hook succeeded (a failed hook is an error state in Juju)."""
        return self.returncode == 0


@dataclass(frozen=True)
class PebbleService:
    """One service as Pebble reports it: its state and since when it is in that state."""

    name: str
    current: str
    since: str | None


@dataclass(frozen=True)
class PebbleRecord:
    """What a pod's Pebble reports: its services, and every start and stop it carried out.

    ``starts`` and ``stops`` count the tasks of those kinds in all of Pebble's
    changes, which Pebble keeps far longer than a test or a demo runs.
    """

    services: tuple[PebbleService, ...]
    starts: int
    stops: int


@dataclass
class Pod:
    """One pod of the unit: charm container, shared volume and workload container.

    ``charm`` is the charm's directory as charmcraft packs it (with
    ``metadata.yaml`` and ``src/``); the pod's charm container gets a copy of
    its own, as each new pod gets the charm afresh. ``container`` is the name
    of the workload container, as the charm's metadata declares it;
    ``storage`` the unit's storage, which its containers mount.
    """

    directory: Path
    pebble: Path
    juju: HookTools
    charm: Path
    unit_name: str
    container: str
    storage: tuple[StorageVolume, ...] = ()
    workload: WorkloadContainer | None = None
    # The charm's entrypoint and arguments, from the charm's directory.
    entrypoint: tuple[str, ...] = ENTRYPOINT
    proxies: list[PebbleProxy] = field(default_factory=list)
    squatters: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _roots: int = 0
    _squatted: Path | None = None

    def __post_init__(self) -> None:
        self.charm_dir = self.directory / "charm"
        shutil.copytree(self.charm, self.charm_dir, symlinks=True)
        # The interpreter that runs the tests has the charm's dependencies.
        write_dispatch(self.charm_dir, [sys.executable, *self.entrypoint])
        self.volume = self.directory / "volume"
        self.volume.mkdir()
        self.view = self.directory / "charm-view"
        self.view.mkdir()
        self.network = PodNetwork(self.directory)

    @property
    def socket_path(self) -> Path:
        """Pebble's socket, seen from the host."""
        return self.volume / PEBBLE_SOCKET

    def start_workload(self) -> WorkloadContainer:
        """Start the workload container on a fresh, empty root; return once Pebble answers."""
        if self.workload is not None and self.workload.running:
            raise RuntimeError("the workload container is already running")
        self._roots += 1
        self.workload = WorkloadContainer(
            self.directory / f"root-{self._roots}",
            self.pebble,
            self.volume,
            self.network,
            self.container,
            self.storage,
        )
        return self.workload

    def squat(self, port: int) -> None:
        """Start another process in the pod that takes ``port`` as soon as it is free."""
        ready = self.directory / f"squatter-{len(self.squatters) + 1}.ready"
        self.squatters.append(self.network.squat(port, ready))
        self._squatted = ready

    def wait_squatted(self) -> None:
        """Wait until the last squatter holds its port."""
        wait_for(lambda: self._squatted is not None and self._squatted.exists(), "the squatter")

    def free_port(self) -> None:
        """Kill every squatter: the port is free again."""
        for process in self.squatters:
            process.kill()
            process.wait(timeout=COMMAND_TIMEOUT)
        self.squatters.clear()
        self._squatted = None

    def kill_workload(self) -> None:
        """Kill the workload container (Pebble and all it runs)."""
        if self.workload is not None:
            self.workload.kill()

    def restart_workload(self) -> WorkloadContainer:
        """What Kubernetes does when the container dies: a new one, same pod and volume."""
        self.kill_workload()
        return self.start_workload()

    def proxy(self, point: KillPoint) -> PebbleProxy:
        """A proxy to hand to :meth:`run_hook` that kills the workload at ``point``."""
        proxy = PebbleProxy(
            self.directory / f"proxy-{len(self.proxies) + 1}",
            self.socket_path,
            point,
            self.kill_workload,
        )
        self.proxies.append(proxy)
        return proxy

    def _in_charm_container(
        self,
        argv: list[str],
        env: dict[str, str],
        *,
        via: PebbleProxy | None = None,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in the charm container, in the charm's directory."""
        socket_dir = via.directory if via else self.volume
        command = ["unshare", "--mount", "--propagation", "private", "--"]
        command += [sys.executable, "-I", "-S", str(POD_INIT), "charm", str(self.view)]
        command += [str(socket_dir), str(self.pebble), str(self.charm_dir), self.container]
        for volume in self.storage:
            command += ["--bind", str(volume.directory), volume.location]
        command += argv
        return subprocess.run(
            _die_with_parent(self.network.enter(command)),
            env=env,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=HOOK_TIMEOUT,
            check=False,
            # A terminal's Ctrl-C reaches the caller only, which ends the hook itself.
            start_new_session=True,
        )

    def _dispatch(self, event: str, env: dict[str, str], via: PebbleProxy | None) -> HookResult:
        logged = len(self.juju.log)
        result = self._in_charm_container(["./dispatch"], env, via=via)
        output = result.stdout + result.stderr + self.juju.log[logged:]
        return HookResult(event, result.returncode, output)

    def run_hook(self, hook: str, via: PebbleProxy | None = None) -> HookResult:
        """Dispatch one hook in the charm container, as the unit agent does."""
        return self._dispatch(
            hook, self.juju.environment(self.unit_name, self.charm_dir, hook), via
        )

    def run_action(
        self, name: str, params: Mapping[str, Any] | None = None, via: PebbleProxy | None = None
    ) -> tuple[HookResult, ActionResult]:
        """Run action ``name`` with ``params`` in the charm container, as ``juju run`` has it run.

        Returns how the dispatch ended (an action that calls ``action-fail``
        still exits 0) and what the action reported.
        """
        env = self.juju.action_environment(self.unit_name, self.charm_dir, name, params or {})
        result = self._dispatch(name, env, via)
        return result, self.juju.action_result()

    def juju_exec(self, script: str) -> subprocess.CompletedProcess[str]:
        """Run ``script`` as ``juju exec`` does on a Kubernetes unit.

        In the charm container, in the charm's directory, with bash reading
        the script, and with only the environment ``juju exec`` provides.
        """
        env = self.juju.exec_environment(self.unit_name, self.charm_dir)
        return self._in_charm_container(["/bin/bash", "-s"], env, input=script)

    def client(self) -> ops.pebble.Client:
        """A Pebble client on the workload's socket, for the tests' own observations."""
        return ops.pebble.Client(socket_path=str(self.socket_path))

    def pebble_record(self) -> PebbleRecord:
        """Pebble's own account of its services and of the starts and stops it made."""
        changes = self.client().get_changes(select=ops.pebble.ChangeState.ALL)
        kinds = [task.kind for change in changes for task in change.tasks]
        services = pebble_api(self.socket_path, "GET", "/v1/services") or []
        return PebbleRecord(
            services=tuple(
                PebbleService(s["name"], s["current"], s.get("current-since")) for s in services
            ),
            starts=kinds.count("start"),
            stops=kinds.count("stop"),
        )

    def file(self, location: str) -> Path:
        """Where a path of the (last) workload container lies on the host.

        A path under a storage mount lies in the unit's storage directory,
        whether a workload container runs or not.
        """
        for volume in sorted(self.storage, key=lambda volume: len(volume.mount), reverse=True):
            if (found := volume.below(location)) is not None:
                return found
        if self.workload is None:
            raise RuntimeError("the workload container was never started")
        return self.workload.root / location.lstrip("/")

    def delete(self) -> None:
        """Delete the pod: everything in it dies."""
        errors: list[Exception] = []
        for proxy in self.proxies:
            try:
                proxy.close()
            except Exception as e:
                errors.append(e)
        self.free_port()
        self.kill_workload()
        self.network.close()
        if errors:
            raise errors[0]


class Unit:
    """One unit of a sidecar charm: the controller's view of it, and its current pod.

    ``charm`` is the charm's directory (see :class:`Pod`), ``name`` the unit's
    name (``app/0``) and ``container`` its workload container's. ``storage``
    maps each storage's name to where the workload container mounts it (the
    charm's ``containers.<container>.mounts``); each is a directory of the
    unit (:meth:`storage_dir`), attached from the start. Use as a context
    manager, or call :meth:`close`: either deletes every pod.
    """

    def __init__(
        self,
        directory: Path,
        pebble: Path,
        config: dict[str, Any],
        *,
        charm: Path,
        name: str,
        container: str,
        entrypoint: tuple[str, ...] = ENTRYPOINT,
        storage: Mapping[str, str] = {},
    ):
        self.directory = directory
        self.pebble = pebble
        self.charm = charm
        self.name = name
        self.container = container
        self.entrypoint = entrypoint
        self.storage = tuple(self._storage_volume(name, mount) for name, mount in storage.items())
        self.juju = HookTools(
            directory / "controller",
            config,
            storage={volume.name: volume.location for volume in self.storage},
        )
        self.pods: list[Pod] = []
        self.pod = self._new_pod()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _storage_volume(self, name: str, mount: str) -> StorageVolume:
        """The storage's directory, made once (root's, 0755, as a fresh volume is)."""
        if not mount.startswith("/") or posixpath.normpath(mount) != mount or mount == "/":
            raise ValueError(f"storage {name}: not a normal absolute mount path: {mount!r}")
        directory = self.directory / STORAGE_DIR / f"{name}-0"
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o755)
        return StorageVolume(name, directory, mount)

    def storage_dir(self, name: str) -> Path:
        """Where storage ``name`` keeps its data on the host, whichever pod runs."""
        [volume] = [volume for volume in self.storage if volume.name == name]
        return volume.directory

    def _new_pod(self) -> Pod:
        pod = Pod(
            self.directory / f"pod-{len(self.pods) + 1}",
            self.pebble,
            self.juju,
            self.charm,
            self.name,
            self.container,
            self.storage,
            entrypoint=self.entrypoint,
        )
        self.pods.append(pod)
        return pod

    def run(self, hook: str, via: PebbleProxy | None = None) -> HookResult:
        """Dispatch ``hook`` in the current pod; fail loudly if the hook fails."""
        result = self.pod.run_hook(hook, via)
        if not result.ok:
            raise HookFailedError(f"hook {hook} failed ({result.returncode}):\n{result.output}")
        return result

    def run_action(
        self, name: str, params: Mapping[str, Any] | None = None, via: PebbleProxy | None = None
    ) -> tuple[HookResult, ActionResult]:
        """Run action ``name`` in the current pod; fail loudly if its dispatch fails.

        An action that calls ``action-fail`` does not fail its dispatch: see
        the returned :class:`ActionResult`.
        """
        result, action = self.pod.run_action(name, params, via)
        if not result.ok:
            raise HookFailedError(f"action {name} failed ({result.returncode}):\n{result.output}")
        return result, action

    def reschedule(self) -> Pod:
        """Delete the pod (after its ``stop`` hook) and create a new one, workload not started.

        The new pod has a new charm container, volume and workload root: nothing
        of the old one survives but the controller's config and the unit's storage.
        """
        self.run("stop")
        self.pod.delete()
        self.pod = self._new_pod()
        return self.pod

    def close(self) -> None:
        """Delete every pod; safe to call more than once."""
        errors: list[BaseException] = []
        for pod in self.pods:
            try:
                pod.delete()
            except Exception as e:
                errors.append(e)
        if errors:
            raise errors[0]
