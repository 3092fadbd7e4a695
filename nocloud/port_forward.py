"""A port of the host relayed into another network namespace: a pod's port on ``127.0.0.1``.

An emulated pod (:mod:`nocloud.pebble_pod`) has a network of its own, so what
it serves cannot be reached from the host. :class:`PortForward` makes it so,
with no process, file or mount: only threads of the caller.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import socket
import threading
import time
from typing import Final

from nocloud.settings import (
    FORWARD_CONNECT_TIMEOUT,
    FORWARD_IO_TIMEOUT,
    FORWARD_JOIN_TIMEOUT,
    FORWARD_MAX_CONNECTIONS,
)

CLONE_NEWNET: Final = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class ForwardError(Exception):
    """The forward's threads did not stop."""


def port_in_use(port: int) -> bool:
    """Whether something listens on ``port`` here (on any address, as a service binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))  # noqa: S104 (a probe, closed at once)
        except OSError:
            return True
    return False


def _enter_network_of(pid: int) -> None:
    """Move the calling thread (only it) into the network namespace of process ``pid``."""
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns into the network of {pid}: {os.strerror(errno)}")
    finally:
        os.close(fd)


class PortForward:
    """The host's ``127.0.0.1:port`` relayed to ``upstream_port`` in another network namespace.

    A socket belongs to the network namespace it was made in, and ``setns``
    moves only the calling thread. So the listener is made on the host, and
    each accepted connection gets a thread that enters the namespace of the
    target process (a pod's workload, say), connects to ``127.0.0.1`` there
    and relays bytes both ways until either side closes or stays idle for
    ``FORWARD_IO_TIMEOUT``. The thread ends with its connection, and the
    namespace is held by nothing of the forward's afterwards. :meth:`target`
    points the forward at another process (or at none: connections are then
    closed at once).
    """

    def __init__(self, port: int, upstream_port: int):
        self.url = f"http://127.0.0.1:{port}"
        self.upstream_port = upstream_port
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._closing = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._listener = socket.create_server(("127.0.0.1", port))
        self._acceptor = threading.Thread(target=self._accept, name="port-forward", daemon=True)
        self._acceptor.start()

    def __enter__(self) -> PortForward:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def target(self, pid: int | None) -> None:
        """Relay new connections into the network namespace of process ``pid`` (None: refuse)."""
        with self._lock:
            self._pid = pid

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if len(self._threads) >= FORWARD_MAX_CONNECTIONS or self._closing.is_set():
                    client.close()
                    continue
                relay = threading.Thread(
                    target=self._relay, args=(client,), name="port-forward-relay", daemon=True
                )
                self._threads.add(relay)
                self._sockets.add(client)
            relay.start()

    def _relay(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            with self._lock:
                pid = self._pid
            if pid is None:
                return
            _enter_network_of(pid)
            upstream = socket.create_connection(
                ("127.0.0.1", self.upstream_port), timeout=FORWARD_CONNECT_TIMEOUT
            )
            with self._lock:
                if self._closing.is_set():
                    return
                self._sockets.add(upstream)
            self._pump(client, upstream)
        except OSError:
            pass  # the target or the client went away: the client sees its connection close
        finally:
            with self._lock:
                self._sockets.discard(client)
                if upstream is not None:
                    self._sockets.discard(upstream)
                self._threads.discard(threading.current_thread())
            client.close()
            if upstream is not None:
                upstream.close()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        """Relay both ways until both sides have closed, or until idle or closing."""
        for end in (client, upstream):
            end.settimeout(FORWARD_IO_TIMEOUT)
        with selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, client)
            open_ends = 2
            while open_ends and not self._closing.is_set():
                ready = selector.select(timeout=FORWARD_IO_TIMEOUT)
                if not ready:
                    return
                for key, _ in ready:
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    sink: socket.socket = key.data
                    data = source.recv(65536)
                    if data:
                        sink.sendall(data)
                        continue
                    selector.unregister(source)
                    open_ends -= 1
                    with contextlib.suppress(OSError):
                        sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        """Stop listening, cut every connection and wait for the threads; safe to call twice."""
        self._closing.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + FORWARD_JOIN_TIMEOUT
        for thread in [self._acceptor, *threads]:
            thread.join(max(0.0, deadline - time.monotonic()))
        if alive := [t.name for t in (self._acceptor, *threads) if t.is_alive()]:
            raise ForwardError(f"the forward to port {self.upstream_port} did not stop: {alive}")
