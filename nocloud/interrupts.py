"""Stop a program that drives containers on a signal, between two steps: never in the middle.

A program that boots machines and starts pods (a demo, a benchmark) has to
tear down everything it started however it ends, a Ctrl-C included. Python
raises :class:`KeyboardInterrupt` wherever the signal lands, and that may be
between a ``fork`` and the moment its child is known to anyone (inside
:class:`subprocess.Popen`), leaving a process no teardown knows of.
:class:`SignalGuard` only notes the signal and raises at the program's own
checkpoints instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from types import FrameType

from nocloud.settings import REPEAT_GAP, SIGNALS


class Interrupted(BaseException):
    """A signal asked the program to stop; not an Exception, so no ``except Exception`` eats it."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class SignalGuard:
    """Stops the program on SIGINT, SIGTERM or SIGHUP: between two steps, not in the middle of one.

    The handler only notes a signal; :meth:`checkpoint`, called between steps,
    raises :class:`Interrupted` for it. Steps should be short and bounded, so
    that a stop waits a second or two. A repeated signal at least
    ``REPEAT_GAP`` later interrupts the step in progress all the same (a
    terminal and tox each pass on the same Ctrl-C at once: that counts as
    one), and so does any signal while the program only waits
    (:meth:`waiting`). Nothing raises while disarmed, before the program
    starts and during its teardown, which so always runs to its end. What it
    says on stderr starts with ``label``.
    """

    def __init__(self, label: str) -> None:
        self.label = label
        self.armed = False
        self.received: int | None = None
        self._immediate = False
        self._first_at = 0.0
        self._told = False
        self._previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = {}

    def __enter__(self) -> SignalGuard:
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *_: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def arm(self) -> None:
        """Let signals stop the program from now on; at once if one came already."""
        self.armed = True
        self.checkpoint()

    def disarm(self) -> None:
        """From now on only note signals: the teardown runs to its end."""
        self.armed = False

    def checkpoint(self) -> None:
        """Raise :class:`Interrupted` if a signal came (and the guard is armed)."""
        if self.armed and self.received is not None:
            self.armed = False
            raise Interrupted(self.received)

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        """A block that only waits, which any signal may interrupt at once."""
        self.checkpoint()
        self._immediate = True
        try:
            yield
        finally:
            self._immediate = False

    def _handle(self, signum: int, _: FrameType | None) -> None:
        now = time.monotonic()
        first = self.received is None
        if first:
            self.received, self._first_at = signum, now
        if self.armed and (self._immediate or now - self._first_at >= REPEAT_GAP):
            self.armed = False
            raise Interrupted(signum)
        # os.write, not print: a handler may run in the middle of another write to stderr.
        if self.armed and first:
            self._say("stopping after the step in progress (signal again: at once)")
        elif not self.armed and now - self._first_at >= REPEAT_GAP and not self._told:
            self._told = True
            self._say("stopping already; it ends by itself shortly")

    def _say(self, message: str) -> None:
        os.write(2, f"{self.label}: {message}\n".encode())
