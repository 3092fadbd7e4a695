"""The seam between the shared reconcile and a service manager.

Both charms run the same ExampleBlog with the same files at the same paths;
only *who* holds those files (the machine, or the workload container behind
Pebble) and *who* runs the process (systemd, or Pebble) differ. This module
names what is shared and defines the small interface each substrate
implements. Nothing here imports Juju concepts beyond the path protocol.
"""

from __future__ import annotations

import enum
import pathlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, NamedTuple, Protocol

from charmlibs.pathops import PathProtocol

import example_blog

SERVICE_NAME: Final = "example-blog"
PORT: Final = example_blog.DEFAULT_PORT
MODE_FILE: Final = example_blog.DEFAULT_MODE_FILE
# Where the posts are: the mount point of the ``posts`` storage, on both substrates.
POSTS_DIR: Final = example_blog.DEFAULT_POSTS_DIR
CODE_FILE: Final = "/opt/example-blog/example_blog.py"
# The blog's defaults for its mode file, posts directory and port are the paths
# above, so the command line needs nothing but the interpreter and the code.
COMMAND: Final = f"/usr/bin/python3 {CODE_FILE}"
# Files the charm writes are root's and world-readable: the service reads them
# as an unprivileged user but must never be able to change them.
FILE_OWNER = "root"
FILE_MODE: Final = 0o644
# A status message shows at most this much of the blog's own last words.
MAX_OUTPUT_CHARS: Final = 160


def blog_code() -> str:
    """The service code this charm ships, as it must appear in the workload."""
    # Not mutated: any spelling of UTF-8, or the locale's encoding, reads this ASCII file the same.
    return pathlib.Path(example_blog.__file__).read_text(encoding="utf-8")  # pragma: no mutate


class Drift(enum.Enum):
    """How far one input of the service is from what it should be."""

    NONE = "none"
    # The content is right but the owner or permissions are not. The running
    # blog read the content when it started, so the repair needs no restart.
    METADATA = "metadata"
    # Missing, unreadable, or different: the blog must restart on the new one.
    CONTENT = "content"


def last_output_line(lines: Iterable[str]) -> str | None:
    """The last non-empty line of a service's output, cut to fit in a status message."""
    last = next((line.strip() for line in reversed(list(lines)) if line.strip()), None)
    if last is None or len(last) <= MAX_OUTPUT_CHARS:
        return last
    return last[: MAX_OUTPUT_CHARS - 1].rstrip() + "\u2026"


class ServiceInput(Protocol):
    """One input of the service: a file, or its definition in the service manager."""

    def drift(self) -> Drift:
        """How the input differs from what it should be; only reads."""
        ...

    def apply(self) -> None:
        """Make the input as desired."""
        ...

    def repair(self) -> None:
        """Put right a :attr:`Drift.METADATA` drift, leaving the content as it is."""
        ...


class FileMetadata(NamedTuple):
    """Who owns a file and its permission bits, as both substrates can report them."""

    user: str | None
    group: str | None
    permissions: int


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

    def metadata(self, location: str) -> FileMetadata:
        """The owner and permissions of the file at ``location`` (pathops reads no permissions).

        Raises ``FileNotFoundError`` when there is no such file.
        """
        ...

    def set_metadata(self, location: str) -> None:
        """Give the file ``FILE_OWNER`` and ``FILE_MODE``; its content stays as it is."""
        ...

    def create_file(self, location: str, content: str) -> None:
        """Create the file atomically, root's and world-readable, never replacing one.

        A reader sees the whole file or none. Raises ``FileExistsError`` when
        ``location`` exists already, and leaves it as it was.
        """
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

    workload: Workload
    location: str
    content: str

    def drift(self) -> Drift:
        """Content first, then owner and permissions.

        A missing, unreadable or undecodable file is simply content drift: the
        reconcile rewrites it, it never crashes on it. An owner whose id has
        no name is drift too.
        """
        try:
            text = self.workload.path(self.location).read_text()
            metadata = self.workload.metadata(self.location)
        except (OSError, UnicodeDecodeError):
            return Drift.CONTENT
        if text.strip() != self.content.strip():
            return Drift.CONTENT
        if metadata != FileMetadata(FILE_OWNER, FILE_OWNER, FILE_MODE):
            return Drift.METADATA
        return Drift.NONE

    def repair(self) -> None:
        """Owner and permissions only: the running blog may read the file meanwhile."""
        self.workload.set_metadata(self.location)

    def apply(self) -> None:
        """Write the whole file, owner and permissions with it, in one call.

        Pebble replaces the file atomically; ``write_text`` truncates and
        writes, then sets the permissions and owner, also of a file that was
        already there.
        """
        path = self.workload.path(self.location)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            self.content,
            mode=FILE_MODE,
            user=FILE_OWNER,
            # Not mutated: without it pathops gives the file its user's own group, root's is root.
            group=FILE_OWNER,  # pragma: no mutate
        )
