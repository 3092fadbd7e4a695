"""The first process of each emulated pod container: set up its mounts, then exec.

``pebble_pod`` starts this script (standard library and ``nocloud.settings``
only, run with ``-I -S``)
inside namespaces that ``unshare`` has just made, as a container runtime's
init would run before the image's entrypoint:

``network READY_FILE``
    Runs in a new network namespace: the pod's, which every container of the
    pod joins, as they join a Kubernetes pod's. Brings its loopback interface
    up, creates READY_FILE, then waits to be killed; the namespace lives as
    long as this process (the pod), whatever happens to its containers.

``workload ROOT PEBBLE VOLUME [--bind SOURCE TARGET]...``
    Runs as PID 1 of a new PID and mount namespace, in the pod's network
    namespace. Mounts the host's ``/usr`` (and any non-symlinked ``/lib*``,
    ``/bin``, ``/sbin``) read-only into ROOT, gives it a minimal ``/dev``,
    its own ``/proc`` and a read-only ``/sys``, mounts the Pebble binary at
    ``/charm/bin/pebble``, the pod's shared volume at ``/charm/container``
    and each SOURCE (the unit's storage) at TARGET, then chroots into ROOT
    and execs Pebble exactly as Juju 3.6 starts a sidecar workload container
    (the environment it is started with, the container's name included, is
    Pebble's). Pebble stays PID 1, so killing it ends everything in the
    container.

``charm VIEW SOCKET_DIR PEBBLE CHARM_DIR CONTAINER [--bind SOURCE TARGET]... COMMAND...``
    Runs in a new mount namespace, in the pod's network namespace (so the
    charm reaches its workload on ``127.0.0.1``, as a real charm container
    does). Builds at VIEW the host's root as the charm container sees it
    (every top-level entry bound in), adds ``/charm/containers/CONTAINER``
    bound from SOCKET_DIR, the Pebble client at ``/charm/bin/pebble`` (Juju
    puts one in every charm container) and each SOURCE at TARGET (the
    directories on the way to TARGET are the view's own, with the host's
    entries bound into them), chroots there and execs COMMAND in CHARM_DIR.
    The charm so finds Pebble's socket at the path ops hard-codes,
    ``/charm/containers/<container>/pebble.socket``, and its storage where
    Juju mounts it, without anything on the host's root changing.

Every mount is made in a namespace that dies with its last process, so
nothing is ever left to unmount on the host.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import socket
import struct
import sys
from pathlib import Path

if not __package__:  # run as a script: the package above is where settings come from
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nocloud.settings import (
    CONTAINERS_INSIDE,
    DEVICES,
    HOST_TREES,
    PEBBLE_ARGV,
    PEBBLE_INSIDE,
    VOLUME_INSIDE,
)

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
IFREQ = "16sh22x"

_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = ""):
    result = _libc.mount(
        source.encode() if source else None,
        target.encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    )
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source} on {target}: {os.strerror(errno)}")


def _bind(source: str, target: str, *, read_only: bool = False, recursive: bool = False):
    _mount(source, target, None, MS_BIND | (MS_REC if recursive else 0))
    if read_only:
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY)


def _bind_file(source: str, target: str, *, read_only: bool = False):
    if not os.path.exists(target):
        with open(target, "w"):
            pass
    _bind(source, target, read_only=read_only)


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack(IFREQ, b"lo", 0)
        flags = struct.unpack(IFREQ, fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack(IFREQ, b"lo", flags | IFF_UP))


def network(ready_file: str) -> None:
    """Hold the pod's network namespace, its loopback up, until killed."""
    _loopback_up()
    with open(ready_file, "w"):
        pass
    while True:
        signal.pause()


def _binds(args: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """The leading ``--bind SOURCE TARGET`` options, and the arguments after them."""
    binds: list[tuple[str, str]] = []
    while args[:1] == ["--bind"]:
        binds.append((args[1], args[2]))
        args = args[3:]
    return binds, args


def workload(root: str, pebble: str, volume: str, binds: list[tuple[str, str]]) -> None:
    """Turn ROOT into the workload container's root and exec Pebble as its PID 1."""
    for name in HOST_TREES:
        host = f"/{name}"
        if os.path.isdir(host) and not os.path.islink(host):
            os.makedirs(f"{root}/{name}", exist_ok=True)
            _bind(host, f"{root}/{name}", read_only=True)
    _mount("tmpfs", f"{root}/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=64k")
    for device in DEVICES:
        _bind_file(f"/dev/{device}", f"{root}/dev/{device}")
    _mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount("sysfs", f"{root}/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY)
    _bind_file(pebble, f"{root}{PEBBLE_INSIDE}", read_only=True)
    _bind(volume, f"{root}{VOLUME_INSIDE}")
    for source, target in binds:
        os.makedirs(f"{root}{target}", exist_ok=True)
        _bind(source, f"{root}{target}")
    os.chroot(root)
    os.chdir("/")
    # The environment this was started with is Pebble's (see pebble_pod.WorkloadContainer).
    os.execv(PEBBLE_ARGV[0], list(PEBBLE_ARGV))  # noqa: S606 (no shell wanted)


def _parents(path: str) -> list[str]:
    """The directories above ``path``, below the root: ``/a/b/c`` gives ``/a`` and ``/a/b``."""
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:end]) for end in range(1, len(parts))]


def _show_host(view: str, directory: str, own: set[str], skip: set[str]) -> None:
    """Show the host's DIRECTORY in VIEW: each entry bound in, except those in SKIP and OWN.

    An entry in OWN is a directory of the view's own (on its tmpfs), shown the
    same way, so that a mount point below it is made without writing to the host.
    """
    entries = sorted(os.listdir(directory or "/"))
    # The entry holding VIEW is bound first, before anything is mounted under
    # VIEW, so that its recursive copy stays small.
    inside = os.path.realpath(view) + "/"
    entries.sort(key=lambda name: not inside.startswith(f"{directory}/{name}/"))
    for name in entries:
        host, target = f"{directory}/{name}", f"{view}{directory}/{name}"
        if host in skip:
            continue
        if host in own:
            os.mkdir(target)
            if os.path.isdir(host) and not os.path.islink(host):
                _show_host(view, host, own, skip)
        elif os.path.islink(host):
            os.symlink(os.readlink(host), target)
        elif os.path.isdir(host):
            os.mkdir(target)
            _bind(host, target, recursive=True)
        else:
            _bind_file(host, target)


def charm(
    view: str,
    socket_dir: str,
    pebble: str,
    charm_dir: str,
    container: str,
    binds: list[tuple[str, str]],
    command: list[str],
) -> None:
    """Show the charm the host's root plus the workload's socket, then exec its hook."""
    _mount("tmpfs", view, "tmpfs", 0, "mode=755")
    own = {parent for _, target in binds for parent in _parents(target)}
    _show_host(view, "", own, {"/charm", *(target for _, target in binds)})
    for source, target in binds:
        os.makedirs(f"{view}{target}", exist_ok=True)
        _bind(source, f"{view}{target}")
    containers = f"{view}{CONTAINERS_INSIDE}/{container}"
    os.makedirs(containers)
    _bind(socket_dir, containers)
    os.makedirs(os.path.dirname(f"{view}{PEBBLE_INSIDE}"))
    _bind_file(pebble, f"{view}{PEBBLE_INSIDE}", read_only=True)
    os.chroot(view)
    os.chdir(charm_dir)
    os.execv(command[0], command)  # noqa: S606 (no shell wanted)


def main(argv: list[str]) -> None:
    """Dispatch on the container kind; never returns on success."""
    kind, *args = argv[1:]
    if kind == "network":
        [ready_file] = args
        network(ready_file)
    elif kind == "workload":
        root, pebble, volume, *rest = args
        binds, extra = _binds(rest)
        if extra:
            sys.exit(f"pod_init: unexpected arguments {extra}")
        workload(root, pebble, volume, binds)
    elif kind == "charm":
        view, socket_dir, pebble, charm_dir, container, *rest = args
        binds, command = _binds(rest)
        charm(view, socket_dir, pebble, charm_dir, container, binds, command)
    else:
        sys.exit(f"pod_init: unknown container kind {kind!r}")


if __name__ == "__main__":
    main(sys.argv)
