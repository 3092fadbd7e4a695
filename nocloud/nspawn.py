"""A real, booted systemd in a ``systemd-nspawn`` container, for tests and demos.

Why a container at all: what a machine charm promises about its service
("restart only on a real change, never after a reboot", say) is about what
systemd does, and a fake ``systemctl`` can only agree with the charm's own
idea of systemd. A booted container runs the real service manager, with real
unit files, real ``enable``/``start`` semantics and a real power cycle, in
about a second and without touching the host's services.

Why these choices:

* **A cached Debian root.** ``debootstrap`` takes about a minute, so the root
  (Debian packages plus a venv with the Python packages the charm code needs)
  is built once under the cache (:func:`nocloud.cache.cache_dir`) and keyed
  on everything that goes into it: a different package list or requirement
  pin builds a new root instead of reusing a stale one.
* **An overlay per container.** The cached root is only ever the lower layer
  of an overlay; every container writes to its own upper layer. The cache
  stays pristine, and powering off then booting again on the same upper
  layer is a reboot that keeps the machine's state, as a real one does.
* **A private mount namespace** (``unshare``) holds the overlay mount, so the
  kernel removes it when the container's last process exits, whatever
  happened to the caller.
* **A control group per container.** Without a service manager on the host,
  ``--keep-unit`` makes nspawn use the caller's control group; giving each
  container its own one keeps the host's cgroup tree clean and gives a
  reliable "kill everything that is left" when a clean power-off fails.
* **``--register=no --keep-unit``**: there may be no machined or host systemd
  to register with, and nothing needs the container to be visible there.
* **``nsenter``** runs commands inside the booted container: the namespaces
  of the container's init are all a command needs, and it works with no
  daemon on either side.
* **A parent-death signal**: if the calling process dies without cleaning up,
  nspawn receives SIGTERM and powers the container off by itself.

Everything that waits polls a condition against a deadline, and every
subprocess has a timeout.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final, TextIO

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from nocloud.cache import cache_dir
from nocloud.settings import (
    BOOT_TIMEOUT,
    DEBIAN_MIRROR_ENV,
    DEBIAN_PACKAGES,
    DEBOOTSTRAP_TIMEOUT,
    DEFAULT_MIRROR,
    HOST_CA_IN_CONTAINER,
    KILL_TIMEOUT,
    PASSED_TO_PIP,
    PIP_TIMEOUT,
    POWEROFF_TIMEOUT,
    ROOT_FORMAT,
    ROOT_RECORD,
    RUN_TIMEOUT,
    SUITE,
    SYSTEM_PATH,
    VENV,
    VENV_PYTHON,
)

_CGROUP_FS: Final = Path("/sys/fs/cgroup")


class SubstrateUnavailableError(Exception):
    """Containers cannot run on this machine; the message says why, for a skip reason."""


class BootError(Exception):
    """The container did not boot, or did not power off, within its deadline."""


def missing_prerequisite(*, building: bool) -> str | None:
    """Why containers cannot run here, or None when they can.

    ``building`` adds what only the one-time build of the root needs.
    """
    if os.geteuid() != 0:
        return "needs root: systemd-nspawn boots containers and mounts overlays only as root"
    tools = {
        "systemd-nspawn": "apt-get install systemd-container",
        "nsenter": "util-linux",
        "unshare": "util-linux",
        "setpriv": "util-linux",
        "mount": "mount",
    }
    if building:
        tools["debootstrap"] = "apt-get install debootstrap"
    for tool, source in tools.items():
        if shutil.which(tool) is None:
            return f"{tool} not found on PATH ({source})"
    if "overlay" not in Path("/proc/filesystems").read_text():
        return "the kernel has no overlay file system"
    return None


def pinned_requirements(roots: Sequence[str]) -> list[str]:
    """``roots`` and everything they need, pinned to the versions installed here.

    The container then runs the code with the same package versions as the
    tests that drive it (which come from the project's lock). A dependency not
    installed here (one the markers exclude on this Python) is left to pip.
    """
    pins: dict[str, str] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [Requirement(root) for root in roots]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if (name, frozenset(requirement.extras)) in seen:
            continue
        seen.add((name, frozenset(requirement.extras)))
        try:
            distribution = importlib.metadata.distribution(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            continue
        pins[name] = distribution.version
        extras = requirement.extras or {""}
        for spec in distribution.requires or ():
            needed = Requirement(spec)
            marker = needed.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras):
                todo.append(needed)
    return sorted(f"{name}=={version}" for name, version in pins.items())


def root_path(requirements: Sequence[str]) -> Path:
    """Where the root for these requirements is (or will be) cached."""
    spec = {
        "format": ROOT_FORMAT,
        "suite": SUITE,
        "packages": sorted(DEBIAN_PACKAGES),
        "requirements": sorted(requirements),
        "venv": VENV,
    }
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir() / f"nspawn-{SUITE}-{key}"


def ensure_root(
    requirements: Sequence[str], *, progress: Callable[[str], None] | None = None
) -> Path:
    """The cached root for ``requirements``, built first if it is not there yet.

    The build happens under a lock (concurrent sessions wait for one build)
    in a scratch directory that is renamed into place only when complete, so
    a cached root is never half-built. Raises :class:`SubstrateUnavailableError`
    when the root cannot be built here.
    """
    final = root_path(requirements)
    if final.is_dir():
        return final
    if reason := missing_prerequisite(building=True):
        raise SubstrateUnavailableError(reason)
    final.parent.mkdir(parents=True, exist_ok=True)
    with (final.parent / "nspawn-root.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if final.is_dir():
            return final
        for leftover in final.parent.glob(".nspawn-*.building"):
            _remove_build_leftover(leftover)
        scratch = final.parent / f".{final.name}.building"
        log = final.parent / f"{final.name}.build.log"
        say = progress or (lambda _: None)
        say(f"building the container root {final} (one time; log: {log})")
        with log.open("w") as out:
            _debootstrap(scratch, out)
            _install_venv(scratch, requirements, out)
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (scratch / cache).glob("*"):
                if item.is_file():
                    item.unlink()
        (scratch / ROOT_RECORD).write_text(
            json.dumps({"suite": SUITE, "packages": DEBIAN_PACKAGES, "python": requirements})
        )
        scratch.rename(final)
        say("container root ready")
    return final


def _remove_build_leftover(path: Path) -> None:
    """Delete an interrupted build, never through a mount it may have left behind.

    A killed ``debootstrap`` can leave the host's ``/proc`` or ``/sys``
    mounted inside its target; those are unmounted first, and nothing is
    deleted while any mount remains below ``path``.
    """
    for point in sorted(mounts_below(path), key=len, reverse=True):
        subprocess.run(["umount", "--lazy", point], timeout=RUN_TIMEOUT, check=False)
    if remaining := mounts_below(path):
        raise SubstrateUnavailableError(
            f"cannot remove the interrupted build {path}: still mounted: {', '.join(remaining)}"
        )
    shutil.rmtree(path)


def mounts_below(path: Path) -> list[str]:
    """Mount points at or below ``path`` in this mount namespace."""
    prefix = str(path.resolve())
    points: list[str] = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        # The fifth field is the mount point, with octal escapes for blanks.
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return points


def _debootstrap(scratch: Path, out: TextIO) -> None:
    mirror = os.environ.get(DEBIAN_MIRROR_ENV) or DEFAULT_MIRROR
    argv = [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(DEBIAN_PACKAGES)}",
        SUITE,
        str(scratch),
        mirror,
    ]
    _build_step(
        argv, out, timeout=DEBOOTSTRAP_TIMEOUT, what=f"debootstrap of {SUITE} from {mirror}"
    )


def _install_venv(scratch: Path, requirements: Sequence[str], out: TextIO) -> None:
    """Create the venv with the root's own Python, so it never depends on the host's."""
    extra: list[str] = []
    ca_bundle = _host_ca_bundle()
    if ca_bundle:
        # Download with the host's trust store: the host is where downloads are trusted.
        extra += [
            f"--bind-ro={ca_bundle}:{HOST_CA_IN_CONTAINER}",
            f"--setenv=PIP_CERT={HOST_CA_IN_CONTAINER}",
        ]
    extra += [f"--setenv={key}={os.environ[key]}" for key in PASSED_TO_PIP if key in os.environ]
    script = (
        f"python3 -m venv {VENV} && "
        f"{VENV_PYTHON} -m pip install --no-input --disable-pip-version-check "
        f"--no-cache-dir --only-binary=:all: {shlex.join(requirements)}"
    )
    jail = _Cgroups.create(f"nocloud-build-{uuid.uuid4().hex[:8]}")
    try:
        argv = _launcher(
            jail,
            mount=None,
            command=[
                "systemd-nspawn",
                "--quiet",
                "--register=no",
                "--keep-unit",
                "--as-pid2",
                "--console=pipe",
                "--link-journal=no",
                "--machine=nocloud-build",
                f"--directory={scratch}",
                *extra,
                "/bin/sh",
                "-c",
                script,
            ],
        )
        _build_step(argv, out, timeout=PIP_TIMEOUT, what="the Python packages' installation")
    finally:
        jail.destroy()


def _build_step(argv: list[str], out: TextIO, *, timeout: float, what: str) -> None:
    """Run one build command in its own process group, all of which a timeout kills."""
    out.write(f"$ {shlex.join(argv)}\n")
    out.flush()
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        code = process.wait(timeout)
    except subprocess.TimeoutExpired as e:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        raise SubstrateUnavailableError(f"{what} took longer than {timeout:.0f} s") from e
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        raise
    if code != 0:
        raise SubstrateUnavailableError(f"{what} failed with status {code}; see {out.name}")


def _host_ca_bundle() -> str | None:
    for candidate in (
        os.environ.get("PIP_CERT"),
        os.environ.get("SSL_CERT_FILE"),
        ssl.get_default_verify_paths().openssl_cafile,
        "/etc/ssl/certs/ca-certificates.crt",
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


class _Cgroups:
    """One control group per container, in every hierarchy nspawn uses.

    When the group cannot be created (an unusual cgroup setup), nspawn simply
    runs in the caller's group, as it would without this.
    """

    def __init__(self, directories: list[Path]):
        self.directories = directories

    @classmethod
    def create(cls, name: str) -> _Cgroups:
        """Make group ``name`` under the caller's group in each hierarchy."""
        created: list[Path] = []
        try:
            for parent in own_cgroups():
                directory = parent / name
                directory.mkdir()
                created.append(directory)
        except OSError:
            for directory in created:
                directory.rmdir()
            return cls([])
        return cls(created)

    def enter_lines(self) -> list[str]:
        """Shell lines that move the shell itself into the groups (nspawn inherits them)."""
        return [f"echo $$ > {shlex.quote(str(d / 'cgroup.procs'))}" for d in self.directories]

    def pids(self) -> set[int]:
        """Every process still in the groups."""
        found: set[int] = set()
        for directory in self.directories:
            for procs in directory.rglob("cgroup.procs"):
                with contextlib.suppress(OSError):
                    found.update(int(pid) for pid in procs.read_text().split())
        return found

    def kill_all(self, timeout: float = KILL_TIMEOUT) -> None:
        """SIGKILL everything left in the groups and wait until they are empty."""
        deadline = time.monotonic() + timeout
        while pids := self.pids():
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                raise BootError(f"processes {sorted(pids)} survived SIGKILL")
            time.sleep(0.02)

    def destroy(self) -> None:
        """Kill what is left and remove the groups, deepest first."""
        self.kill_all()
        for directory in self.directories:
            for sub, _, _ in sorted(os.walk(directory), key=lambda w: -len(w[0])):
                with contextlib.suppress(FileNotFoundError):
                    os.rmdir(sub)
        self.directories = []


def own_cgroups() -> list[Path]:
    """The caller's group in the unified and the named ``systemd`` hierarchy, as present.

    Where both exist, systemd-nspawn mirrors its container's unified path into
    the systemd one, so a group made below the caller belongs in both.
    """
    own: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        own[controllers] = path
    if (_CGROUP_FS / "cgroup.controllers").exists():
        mounts = {"": _CGROUP_FS}
    else:
        mounts = {"name=systemd": _CGROUP_FS / "systemd"}
        if (_CGROUP_FS / "unified" / "cgroup.controllers").exists():
            mounts[""] = _CGROUP_FS / "unified"
    return [
        mount / own[key].lstrip("/")
        for key, mount in mounts.items()
        if key in own and mount.is_dir()
    ]


class Confinement:
    """The calling process in a control group of its own, so that all it starts can be ended.

    Everything the process starts afterwards lands in the group (containers'
    own groups nest below it). :meth:`close` moves this process back where it
    was, kills whatever is still in the group and removes it: a last resort
    behind each part's own teardown, for whatever an interruption at a bad
    moment left behind. ``leftovers`` are the processes it had to kill.
    Where no group can be made, it confines nothing (``active`` is False).
    """

    def __init__(self, name: str):
        self.leftovers: set[int] = set()
        self._jail = _Cgroups.create(name)
        try:
            self._move(inside=True)
        except OSError:
            self._move(inside=False)
            self._jail.destroy()

    @property
    def active(self) -> bool:
        """Whether this process was moved into a group of its own."""
        return bool(self._jail.directories)

    def _move(self, *, inside: bool) -> None:
        for directory in self._jail.directories:
            target = directory if inside else directory.parent
            (target / "cgroup.procs").write_text(f"{os.getpid()}\n")

    def __enter__(self) -> Confinement:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Leave the group, kill what is left in it and remove it; safe to call twice."""
        if not self.active:
            return
        self._move(inside=False)
        self.leftovers = self._jail.pids()
        self._jail.destroy()


def _launcher(jail: _Cgroups, *, mount: str | None, command: list[str]) -> list[str]:
    """The command line that runs ``command`` in the jail and a private mount namespace.

    ``mount`` is a shell line run in that namespace first. ``setpriv`` gives
    the chain a parent-death signal, so the container powers itself off if
    the caller dies.
    """
    lines = ["set -e", *jail.enter_lines()]
    if mount:
        lines.append(mount)
    lines.append('exec "$@"')
    return [
        "setpriv",
        "--pdeathsig",
        "TERM",
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        "\n".join(lines),
        "launcher",
        *command,
    ]


class Container:
    """A booted systemd on an overlay of a cached root; can power off and boot again.

    ``workdir`` holds the overlay's upper layer (the machine's own state,
    kept across reboots) and the console log. ``binds`` maps host paths to
    read-only paths inside, ``writable_binds`` to writable ones. Use as a
    context manager: leaving it always powers the container off and removes
    its control groups.
    """

    def __init__(
        self,
        root: Path,
        workdir: Path,
        *,
        binds: Mapping[str, str] | None = None,
        writable_binds: Mapping[str, str] | None = None,
        name: str | None = None,
    ):
        self.root = root
        self.workdir = workdir
        self.binds = dict(binds or {})
        self.writable_binds = dict(writable_binds or {})
        self.name = name or f"nocloud-{uuid.uuid4().hex[:8]}"
        self.console_log = workdir / "console.log"
        self._upper = workdir / "upper"
        self._work = workdir / "work"
        self._merged = workdir / "merged"
        self._nspawn: subprocess.Popen[bytes] | None = None
        self._jail = _Cgroups([])
        self.init_pid: int | None = None

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def running(self) -> bool:
        """Whether nspawn (and so the container) is still up."""
        return self._nspawn is not None and self._nspawn.poll() is None

    def boot(self, timeout: float = BOOT_TIMEOUT) -> None:
        """Boot and wait until systemd reports start-up finished.

        A unit failing during boot (``degraded``) still counts as booted:
        what the tests watch is one service, which they check themselves.
        """
        if self.running:
            raise BootError(f"{self.name} is already running")
        deadline = time.monotonic() + timeout
        for directory in (self._upper, self._work, self._merged):
            directory.mkdir(parents=True, exist_ok=True)
        options = f"lowerdir={self.root},upperdir={self._upper},workdir={self._work}"
        target = shlex.quote(str(self._merged))
        mount = f"mount -t overlay overlay -o {shlex.quote(options)} {target}"
        command = [
            "systemd-nspawn",
            "--quiet",
            "--boot",
            "--register=no",
            "--keep-unit",
            "--console=passive",
            "--link-journal=no",
            f"--machine={self.name}",
            f"--directory={self._merged}",
            *(f"--bind-ro={host}:{inside}" for host, inside in self.binds.items()),
            *(f"--bind={host}:{inside}" for host, inside in self.writable_binds.items()),
        ]
        self._jail = _Cgroups.create(self.name)
        with self.console_log.open("ab") as log:
            self._nspawn = subprocess.Popen(
                _launcher(self._jail, mount=mount, command=command),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self.init_pid = self._wait_for_init(deadline)
            self._wait_until_started(deadline)
        except BaseException:
            self.kill()
            raise

    def _wait_for_init(self, deadline: float) -> int:
        """The pid (on the host) of the container's systemd, once it has started."""
        assert self._nspawn
        own_pid_ns = os.readlink("/proc/self/ns/pid")
        while time.monotonic() < deadline:
            if self._nspawn.poll() is not None:
                raise BootError(f"nspawn exited with {self._nspawn.returncode}: {self.tail()}")
            with contextlib.suppress(OSError):
                children = Path(f"/proc/{self._nspawn.pid}/task/{self._nspawn.pid}/children")
                for child in children.read_text().split():
                    proc = Path("/proc") / child
                    if (
                        os.readlink(proc / "ns/pid") != own_pid_ns
                        and (proc / "comm").read_text().strip() == "systemd"
                    ):
                        return int(child)
            time.sleep(0.02)
        raise BootError(f"no systemd in {self.name} before the deadline: {self.tail()}")

    def _wait_until_started(self, deadline: float) -> None:
        state = ""
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                result = self.run(
                    ["systemctl", "is-system-running", "--wait"], timeout=remaining, check=False
                )
            except subprocess.TimeoutExpired:
                break
            state = result.stdout.strip()
            if state in ("running", "degraded"):
                return
            if not self.running:
                break
            # Before systemd listens on its socket the call fails at once; try again.
            time.sleep(0.05)
        raise BootError(f"{self.name} did not finish booting (state {state!r}): {self.tail()}")

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = RUN_TIMEOUT,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str = "/",
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` as root inside the booted container, with a clean environment.

        ``nsenter`` forks the command into the container's pid namespace but
        stays its parent, outside. Were ``nsenter`` killed first (on a
        timeout or an interrupt), the command would be left to the host's
        init, out of the container's reach, and the container's shutdown
        would wait for it. So the command is killed first and ``nsenter``
        reaps it; and both run in a session of their own, so that a
        terminal's Ctrl-C (sent to its whole foreground process group) cannot
        kill ``nsenter`` first. If the caller dies, ``setpriv --pdeathsig
        KILL`` takes ``nsenter`` and then the command down with it, before
        the container's shutdown can freeze them (``nsenter`` stops itself
        when its child is stopped, and nothing outside would ever let it go on).
        """
        if self.init_pid is None or not self.running:
            raise BootError(f"{self.name} is not running")
        variables = {"PATH": SYSTEM_PATH, "LANG": "C.UTF-8", **(env or {})}
        full = [
            "setpriv",
            "--pdeathsig",
            "KILL",
            "nsenter",
            f"--target={self.init_pid}",
            "--all",
            "setpriv",
            "--pdeathsig",
            "KILL",
            "env",
            "-i",
            f"--chdir={cwd}",
            *(f"{key}={value}" for key, value in variables.items()),
            *argv,
        ]
        process = subprocess.Popen(
            full,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except BaseException:
            _stop_entered(process)
            raise
        if check and process.returncode != 0:
            raise subprocess.CalledProcessError(process.returncode, list(argv), stdout, stderr)
        return subprocess.CompletedProcess(list(argv), process.returncode, stdout, stderr)

    def poweroff(self, timeout: float = POWEROFF_TIMEOUT) -> None:
        """Shut down cleanly (SIGTERM to nspawn); kill everything left after ``timeout``."""
        nspawn = self._nspawn
        clean = True
        if nspawn is not None and nspawn.poll() is None:
            nspawn.send_signal(signal.SIGTERM)
            try:
                nspawn.wait(timeout)
            except subprocess.TimeoutExpired:
                clean = False
        self.kill()
        if not clean:
            raise BootError(f"{self.name} did not power off within {timeout:.0f} s; killed it")

    def kill(self) -> None:
        """Stop at once, with no shutdown inside: what a power-off does after its deadline.

        A boot that fails or is interrupted ends here directly: a systemd that
        has not set up its signal handlers yet ignores the halt request of a
        clean power-off, which could then only time out.
        """
        nspawn = self._nspawn
        self._jail.destroy()
        if nspawn is not None and nspawn.poll() is None:
            nspawn.kill()
            nspawn.wait(KILL_TIMEOUT)
        self._kill_orphaned_init()
        self._nspawn = None
        self.init_pid = None

    def _kill_orphaned_init(self) -> None:
        """Without a control group, the container's init is the handle on all it runs."""
        if self.init_pid is None:
            return
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{self.init_pid}/ns/pid") != os.readlink("/proc/self/ns/pid"):
                os.kill(self.init_pid, signal.SIGKILL)

    def reboot(self, timeout: float = BOOT_TIMEOUT) -> None:
        """Power off, then boot again on the same upper layer: the machine keeps its state."""
        self.poweroff()
        self.boot(timeout)

    def close(self) -> None:
        """Power off if running and remove what the container left on the host."""
        self.poweroff()

    def tail(self, lines: int = 15) -> str:
        """The end of the console log, for error messages."""
        try:
            text = self.console_log.read_text(errors="replace")
        except OSError:
            return "(no console log)"
        return "\n".join(text.splitlines()[-lines:])


def _stop_entered(nsenter: subprocess.Popen[str]) -> None:
    """Kill the command ``nsenter`` runs, let ``nsenter`` reap it and exit, then close up."""
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{nsenter.pid}/task/{nsenter.pid}/children").read_text()
        for child in children.split():
            os.kill(int(child), signal.SIGKILL)
    try:
        nsenter.wait(5)
    except subprocess.TimeoutExpired:
        nsenter.kill()
        nsenter.wait(5)
    for stream in (nsenter.stdin, nsenter.stdout, nsenter.stderr):
        if stream:
            with contextlib.suppress(OSError):
                stream.close()


@contextlib.contextmanager
def booted(
    root: Path, workdir: Path, *, binds: Mapping[str, str] | None = None
) -> Iterator[Container]:
    """A booted container that is powered off however the block is left."""
    container = Container(root, workdir, binds=binds)
    try:
        container.boot()
        yield container
    finally:
        container.close()
