"""Another process on the blog's port: the most common reason a web service cannot start.

Usage (standard library only, so it runs with ``python3 -I -S`` in the test
machine and in the emulated pod alike)::

    python3 squatter.py PORT READY_FILE

Binds ``0.0.0.0:PORT`` as soon as it is free (retrying every few
milliseconds, so it can take the port in the moment after the blog dies),
listens without ever answering, creates READY_FILE, and holds the port until
it is killed or :data:`LIFETIME` has passed. A connection to it is accepted
by the kernel and then hangs, as with a stuck program: the charm's health
read must time out on it rather than take it for the blog.
"""

from __future__ import annotations

import socket
import sys
import time

RETRY = 0.005
# Bounds, so that a squatter nobody stops ends by itself.
BIND_TIMEOUT = 60.0
LIFETIME = 600.0


def squat(port: int, ready_file: str) -> int:
    """Take ``port`` and hold it; 1 if it never came free."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # As any server sets it: the blog's closed connections may linger on the port.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    deadline = time.monotonic() + BIND_TIMEOUT
    while True:
        try:
            sock.bind(("0.0.0.0", port))  # noqa: S104 (the blog listens on all addresses too)
            break
        except OSError:
            if time.monotonic() > deadline:
                print(f"squatter: port {port} never came free", file=sys.stderr)
                return 1
            time.sleep(RETRY)
    sock.listen()
    with open(ready_file, "w"):
        pass
    time.sleep(LIFETIME)
    return 0


if __name__ == "__main__":
    sys.exit(squat(int(sys.argv[1]), sys.argv[2]))
