"""Another process on a service's port: the most common reason a web service cannot start.

Usage (standard library and ``nocloud.settings`` only, so it runs with
``python3 -I -S`` in a booted machine and in an emulated pod alike)::

    python3 squatter.py PORT READY_FILE

Binds ``0.0.0.0:PORT`` as soon as it is free (retrying every few
milliseconds, so it can take the port in the moment after the service dies),
listens without ever answering, creates READY_FILE, and holds the port until
it is killed or ``SQUAT_LIFETIME`` has passed. A connection to it is accepted
by the kernel and then hangs, as with a stuck program: a charm's health
check must time out on it rather than take it for its service.
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

if not __package__:  # run as a script: the package above is where settings come from
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nocloud.settings import SQUAT_BIND_TIMEOUT, SQUAT_LIFETIME, SQUAT_RETRY


def squat(port: int, ready_file: str) -> int:
    """Take ``port`` and hold it; 1 if it never came free."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # As any server sets it: the closed connections of the service may linger on the port.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    deadline = time.monotonic() + SQUAT_BIND_TIMEOUT
    while True:
        try:
            sock.bind(("0.0.0.0", port))  # noqa: S104 (as a service listening on all addresses)
            break
        except OSError:
            if time.monotonic() > deadline:
                print(f"squatter: port {port} never came free", file=sys.stderr)
                return 1
            time.sleep(SQUAT_RETRY)
    sock.listen()
    with open(ready_file, "w"):
        pass
    time.sleep(SQUAT_LIFETIME)
    return 0


if __name__ == "__main__":
    sys.exit(squat(int(sys.argv[1]), sys.argv[2]))
