"""The seam between the shared reconcile and a service manager.

Both charms run the same ExampleBlog with the same files at the same paths;
only *who* holds those files (the machine, or the workload container behind
Pebble) and *who* runs the process (systemd, or Pebble) differ. This module
names what is shared and defines the small interface each substrate
implements. Nothing here imports Juju concepts beyond the path protocol.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import Final, Protocol

from charmlibs.pathops import PathProtocol

import example_blog

SERVICE_NAME: Final = "example-blog"
PORT: Final = example_blog.DEFAULT_PORT
MODE_FILE: Final = example_blog.DEFAULT_MODE_FILE
CODE_FILE: Final = "/opt/example-blog/example_blog.py"
# The blog's defaults for its mode file, posts directory and port are the paths
# above, so the command line needs nothing but the interpreter and the code.
COMMAND: Final = f"/usr/bin/python3 {CODE_FILE}"
# Files the charm writes are root's and world-readable: the service reads them
# as an unprivileged user but must never be able to change them.
FILE_OWNER = "root"
FILE_MODE: Final = 0o644


def blog_code() -> str:
    """The service code this charm ships, as it must appear in the workload."""
    # Not mutated: any spelling of UTF-8, or the locale's encoding, reads this ASCII file the same.
    return pathlib.Path(example_blog.__file__).read_text(encoding="utf-8")  # pragma: no mutate


class ServiceInput(Protocol):
    """One input of the service: a file, or its definition in the service manager."""

    def is_current(self) -> bool:
        """Whether the input already is as desired; only reads."""
        ...

    def apply(self) -> None:
        """Make the input as desired."""
        ...


class StartFailedError(Exception):
    """The service manager started the blog, but the blog did not come up.

    The message is the reason, as the blog itself gave it where it gave one
    (port in use, unreadable mode file), else as its service manager recorded
    it (the exit status or signal). The service is left stopped: the charm
    retries it once per hook, never in a loop of its own.
    """


class Workload(Protocol):
    """What the reconcile needs from a substrate; one implementation per charm variant."""

    # Exceptions meaning "the service manager cannot be reached right now": the
    # charm reports them as Waiting instead of failing the hook.
    unreachable_errors: tuple[type[Exception], ...]
    # The command that shows the blog's output on this substrate, for status messages.
    log_command: str

    def path(self, location: str) -> PathProtocol:
        """The path at ``location`` in the workload's filesystem."""
        ...

    def service_definition(self) -> ServiceInput:
        """The service as the service manager should know it."""
        ...

    def is_running(self) -> bool:
        """Whether the service manager reports the service as running."""
        ...

    def start(self) -> None:
        """Start the service (which reads its mode file as it starts).

        Raises :class:`StartFailedError`, with the service left stopped, when
        the blog exits instead of serving.
        """
        ...

    def stop(self) -> None:
        """Stop the service."""
        ...


@dataclass(frozen=True)
class ManagedFile:
    r"""A root-owned, world-readable file whose content the charm decides.

    Surrounding whitespace is not significant: the blog strips it when it reads
    its mode, so ``production`` and ``production\\n\\n`` mean the same and must
    not cause a restart. The same rule holds for the code and unit files, where
    a trailing newline changes nothing either.
    """

    path: PathProtocol
    content: str

    def is_current(self) -> bool:
        """Whether the file holds the content and belongs to root.

        A missing, unreadable or undecodable file is simply not current: the
        reconcile rewrites it, it never crashes on it.
        """
        try:
            text = self.path.read_text()
            owned = self.path.owner() == FILE_OWNER and self.path.group() == FILE_OWNER
        except (OSError, UnicodeDecodeError, KeyError):
            return False
        return owned and text.strip() == self.content.strip()

    def apply(self) -> None:
        """Write the whole file (Pebble and ``write_text`` both replace it in one call)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(
            self.content,
            mode=FILE_MODE,
            user=FILE_OWNER,
            # Not mutated: without it pathops gives the file its user's own group, root's is root.
            group=FILE_OWNER,  # pragma: no mutate
        )
