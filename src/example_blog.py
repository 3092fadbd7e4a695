#!/usr/bin/env python3
"""ExampleBlog: the small blog service that both charms run.

It is deliberately old-fashioned: it reads its mode from a file **once, when it
starts**, and never again. Changing the mode therefore means writing the file
and restarting the process, which is exactly the behaviour the charms have to
manage without ever restarting it needlessly.

Standard library only, so it runs on any Python 3.11+ the host or image has.
The charm imports it too (for ``MODES`` and ``VERSION``), so it must stay free
of side effects at import time.

Posts are the operator's data, and the posts directory may hold anything: a
file that is not UTF-8, an empty one, one of 50 MB, a directory or a broken
symlink named like a post, a file the blog may not read, ten thousand posts.
All of that is bad input, never a crash: the front page shows what it can and
says nothing of the rest but one line in the log (stderr, so the journal under
systemd and ``pebble logs`` under Pebble). Every front page is bounded:

* **Which posts.** The newest ``MAX_POSTS`` ``*.txt`` regular files by
  modification time (newest first; equal times by name). Finding them takes a
  ``stat`` per entry, so the listing is kept for ``LISTING_TTL_SECONDS``, and
  for no longer than the directory itself is unchanged: a post added, removed
  or renamed shows at once, an older post edited in place moves up within
  that time. Only posts on their way to the page are opened (one that cannot
  be read makes room for the next), and they are read afresh every time.
* **How much of each.** At most ``MAX_POST_BYTES`` are kept of a post (one
  more byte is read to tell that there was more); a longer post is shown
  truncated under a visible marker, never read whole.
* **Text that is not UTF-8** is decoded with replacement characters (U+FFFD)
  rather than skipped: the post is the operator's, and one stray Latin-1 byte
  should cost a character, not the whole post. The log says so once.
* **Not shown**, and logged once: an entry that is not a regular file (a
  directory, a FIFO, a device), a broken symlink, a file that cannot be opened
  or read (permissions), and an empty file (most often a post still being
  written). "Once" is per file and reason, keyed by name, inode, size and
  modification time: a file that changes and is still bad is logged again,
  and a note on a file no longer found is forgotten, so what the blog
  remembers is no more than what is wrong now.
* **Size.** So a page is at most ``MAX_PAGE_BYTES`` (about 2 MB, for 20 posts
  of 16 KiB of nothing but quotes; 20 ordinary posts of 16 KiB are 330 KB).
* **Time.** A listing costs a ``stat`` per entry (80 ms for 10,000 posts,
  measured), at most once per ``LISTING_TTL_SECONDS`` and shared by the
  requests meanwhile; a page then reads at most ``MAX_POST_BYTES + 1`` bytes
  of each of at most ``MAX_POSTS`` files (2 ms for the same 10,000).
* **Memory.** At most ``MAX_CONCURRENT_PAGES`` front pages are built and sent
  at once; a request that waits ``PAGE_WAIT_SECONDS`` for its turn is answered
  503. Each connection's socket times out after ``REQUEST_TIMEOUT_SECONDS``,
  so a client that does not take its page cannot hold a turn for longer. Page
  memory is thus bounded by the number of turns, however many requests
  arrive; ``/health`` never waits for one. The listing kept is one small
  record per post.

A front page that fails even so (an unreadable posts directory) is answered
500 with a short message, and its reason logged once; ``/health`` stays as it
is, because the process itself is fine.
"""

from __future__ import annotations

import argparse
import codecs
import datetime
import errno
import html
import http.server
import json
import os
import pathlib
import socket
import stat
import sys
import threading
import time
import uuid
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Final, NamedTuple

VERSION: Final = "1.0.0"
MODES: Final = ("test", "production")
DEFAULT_MODE_FILE: Final = "/etc/example_blog/mode"
DEFAULT_POSTS_DIR: Final = "/var/lib/example_blog/posts"
DEFAULT_PORT: Final = 8080
# Exit statuses for a start that cannot serve. Restarting would not help with
# either, so the systemd unit lists them in RestartPreventExitStatus=.
EXIT_BAD_MODE: Final = 2
EXIT_CANNOT_LISTEN: Final = 3
# Every line the blog prints about why it stopped starts with this, so a
# charm can find the reason among the service's output.
REASON_PREFIX: Final = "example-blog: "

# The front page's bounds (see the module docstring). Twenty posts is a long
# front page already; 16 KiB is a long post (a 1,000-word post is about 6 KiB).
MAX_POSTS: Final = 20
MAX_POST_BYTES: Final = 16 * 1024
# The longest file name Linux allows, in bytes: an untitled post shows its name.
NAME_MAX: Final = 255
TRUNCATED_MARKER: Final = (
    f'<p class="truncated">[truncated: this post is longer than {MAX_POST_BYTES} bytes]</p>'
)
# Escaping turns a character into at most six bytes (" into &quot;), and
# decoding a byte into at most three (a stray byte into U+FFFD): at most six
# bytes of page per byte read or of name, and the markup around them.
MAX_ARTICLE_BYTES: Final = 6 * (MAX_POST_BYTES + NAME_MAX) + 64 + len(TRUNCATED_MARKER)
MAX_PAGE_BYTES: Final = MAX_POSTS * MAX_ARTICLE_BYTES + 256
# Building a page is CPU under one interpreter lock: more turns than cores buy
# little speed, and each turn may hold a page (and its copies) in memory.
MAX_CONCURRENT_PAGES: Final = 8
PAGE_WAIT_SECONDS: Final = 10.0
REQUEST_TIMEOUT_SECONDS: Final = 30.0
# How long the directory listing (a stat per entry: 80 ms for 10,000 posts,
# measured) is reused while the directory itself is unchanged. A file's own
# edit does not change the directory: this is how late it may reorder posts.
LISTING_TTL_SECONDS: Final = 2.0
POST_SUFFIX: Final = ".txt"
# A posts directory that is not there (or a dangling or looping symlink) is an
# empty blog, as it always was; one that cannot be read is a failure.
NO_DIRECTORY: Final = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)
# Connections the kernel queues until the blog accepts them. socketserver's
# default of 5 drops a burst: of 16 requests at once, some waited a whole
# second for the client to try again.
LISTEN_BACKLOG: Final = 128

SAMPLE_POSTS: Final = (
    ("Hello from test mode", "These posts are built in, so a test deployment always has content."),
    ("A second sample", "Switch the charm's mode option to production to serve real posts."),
)


class ModeError(Exception):
    """The mode file is missing, unreadable or holds no valid mode."""


@dataclass(frozen=True)
class Post:
    """One blog post."""

    title: str
    body: str
    truncated: bool = False


class Candidate(NamedTuple):
    """A ``*.txt`` entry that ``stat`` found a non-empty regular file; sorts in page order."""

    newest_first: int  # the modification time, negated
    name: str
    path: str
    inode: int
    size: int


@dataclass(frozen=True)
class Listing:
    """The posts directory as last listed: candidates in page order, and what was wrong."""

    directory: tuple[int, int, int]  # device, inode and modification time of the directory
    listed_at: float  # time.monotonic()
    candidates: list[Candidate]
    notes: list[tuple[Hashable, str]]


class NotRegularFileError(OSError):
    """What was opened is not a regular file (it was replaced since it was listed)."""


def display_name(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 shown as U+FFFD, like a post's text."""
    return os.fsencode(name).decode("utf-8", errors="replace")


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, for the log."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def read_head(path: str, limit: int) -> tuple[bytes, bool, os.stat_result]:
    """The first ``limit`` bytes of the regular file at ``path``, whether it holds more, its stat.

    Reads at most ``limit + 1`` bytes, however large the file. Opened without
    blocking, so that a FIFO put in a post's place cannot hang the request.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFileError(f"{path} is not a regular file")
        chunks: list[bytes] = []
        wanted = limit + 1
        while wanted > 0 and (chunk := os.read(fd, wanted)):
            chunks.append(chunk)
            wanted -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    return data[:limit], len(data) > limit, info


def parse_post(data: bytes, *, truncated: bool, untitled: str) -> tuple[Post, bool]:
    """A post from its (first) bytes, and whether they were not all UTF-8.

    The first line is the title (``untitled`` when it is blank), the rest the
    body. A truncated post may end inside a character: that part is dropped.
    """
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(data, final=not truncated)
        replaced = False
    except UnicodeDecodeError:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text = decoder.decode(data, final=not truncated)
        replaced = True
    title, _, body = text.partition("\n")
    return Post(title.strip() or untitled, body.strip(), truncated), replaced


def render_article(post: Post) -> str:
    """One post as HTML; at most ``MAX_ARTICLE_BYTES`` for any post the blog reads."""
    marker = TRUNCATED_MARKER if post.truncated else ""
    return (
        f"<article><h2>{html.escape(post.title)}</h2><p>{html.escape(post.body)}</p>"
        f"{marker}</article>\n"
    )


class PostLog:
    """Lines about posts for the log, each written once while its cause lasts.

    Notes come in channels, each reported whole every time: a note already
    written is not written again, and a note a channel no longer reports is
    forgotten, so memory stays as small as what is wrong right now.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, frozenset[Hashable]] = {}

    def report(self, channel: str, notes: Sequence[tuple[Hashable, str]]) -> None:
        """Log the ``(key, line)`` notes not logged before; forget the channel's others."""
        with self._lock:
            known = self._known.get(channel, frozenset())
            new = {key: line for key, line in notes if key not in known}
            self._known[channel] = frozenset(key for key, _ in notes)
        for line in new.values():
            sys.stderr.write(f"{line}\n")


class PostsReader:
    """Reads the posts directory within the front page's bounds; shared by all requests."""

    def __init__(self) -> None:
        self.log = PostLog()
        self._lock = threading.Lock()
        self._listing: Listing | None = None

    def posts(self, posts_dir: pathlib.Path) -> list[Post]:
        """The newest ``MAX_POSTS`` posts that can be read, in page order."""
        posts: list[Post] = []
        notes: list[tuple[Hashable, str]] = []
        for candidate in self._candidates(posts_dir):
            if len(posts) == MAX_POSTS:
                break
            post = read_post(candidate, notes)
            if post is not None:
                posts.append(post)
        self.log.report("reading", notes)
        return posts

    def _candidates(self, posts_dir: pathlib.Path) -> list[Candidate]:
        """The directory's candidate posts in page order, listed at most once per TTL."""
        try:
            info = posts_dir.stat()
            if not stat.S_ISDIR(info.st_mode):
                return []
            directory = (info.st_dev, info.st_ino, info.st_mtime_ns)
            with self._lock:  # one listing at a time: concurrent requests share it
                listing = self._listing
                if (
                    listing is None
                    or listing.directory != directory
                    or time.monotonic() - listing.listed_at >= LISTING_TTL_SECONDS
                ):
                    listing = self._listing = list_posts(posts_dir, directory)
                    self.log.report("listing", listing.notes)
        except OSError as e:
            if e.errno in NO_DIRECTORY:
                return []
            raise
        return listing.candidates


def read_post(candidate: Candidate, notes: list[tuple[Hashable, str]]) -> Post | None:
    """The post a candidate holds, or None; what was wrong with it is added to ``notes``."""
    name = display_name(candidate.name)
    # The file as listed; once it is open, as it is now (the listing may be older).
    version = (candidate.inode, -candidate.newest_first, candidate.size)

    def note(reason: str, verdict: str = "skipped") -> None:
        notes.append(((candidate.name, *version, reason), f"post {name!r} {verdict}: {reason}"))

    try:
        data, truncated, info = read_head(candidate.path, MAX_POST_BYTES)
    except FileNotFoundError:
        return None  # removed since it was listed: the next listing shows why, if anything
    except NotRegularFileError:
        note("it is not a regular file")
        return None
    except OSError as e:
        note(f"cannot read it: {e.strerror or e}")
        return None
    version = (info.st_ino, info.st_mtime_ns, info.st_size)
    if not data:
        note("it is empty")
        return None
    post, replaced = parse_post(data, truncated=truncated, untitled=pathlib.PurePath(name).stem)
    if replaced:
        note("it is not UTF-8", "shown with replacement characters")
    if truncated:
        note(f"it is longer than {MAX_POST_BYTES} bytes", "shown truncated")
    return post


def list_posts(posts_dir: pathlib.Path, directory: tuple[int, int, int]) -> Listing:
    """List the directory: one ``stat`` per ``*.txt`` entry, no file opened."""
    listed_at = time.monotonic()
    candidates: list[Candidate] = []
    notes: list[tuple[Hashable, str]] = []
    with os.scandir(posts_dir) as entries:
        for entry in entries:
            if not entry.name.endswith(POST_SUFFIX):
                continue
            shown = f"post {display_name(entry.name)!r} skipped"
            try:
                info = entry.stat()
            except OSError as e:
                reason = (
                    "it is a broken symlink"
                    if isinstance(e, FileNotFoundError) and entry.is_symlink()
                    else f"cannot stat it: {e.strerror or e}"
                )
                notes.append(((entry.name, entry.inode(), reason), f"{shown}: {reason}"))
                continue
            key = (entry.name, info.st_ino, info.st_mtime_ns, info.st_size)
            if not stat.S_ISREG(info.st_mode):
                reason = f"it is {file_kind(info.st_mode)}"
            elif info.st_size == 0:
                reason = "it is empty"
            else:
                candidates.append(
                    Candidate(-info.st_mtime_ns, entry.name, entry.path, info.st_ino, info.st_size)
                )
                continue
            notes.append(((*key, reason), f"{shown}: {reason}"))
    candidates.sort()
    return Listing(directory, listed_at, candidates, notes)


@dataclass(frozen=True)
class Blog:
    """Everything the running process decided at start; none of it changes later."""

    mode: str
    posts_dir: pathlib.Path
    start_id: str
    started_at: str
    pid: int
    # What the process learns of its posts directory as it serves: not state it decided.
    reader: PostsReader = field(default_factory=PostsReader, compare=False, repr=False)

    def posts(self) -> list[Post]:
        """The posts to show: built-in samples in test mode, files in production.

        In production a ``*.txt`` file in the posts directory is a post: its
        first line is the title, the rest the body. The newest ``MAX_POSTS``
        are shown, each cut at ``MAX_POST_BYTES``; what cannot be shown is
        skipped and logged once (see the module docstring). A missing
        directory is an empty blog, not an error; one that cannot be listed
        raises ``OSError``.
        """
        if self.mode == "test":
            return [Post(title, body) for title, body in SAMPLE_POSTS]
        return self.reader.posts(self.posts_dir)

    def front_page(self) -> tuple[int, str, str]:
        """The answer to a front-page request: status, content type and body.

        A page that fails for any reason is answered 500, never a dropped
        connection; the reason is logged once for as long as it lasts.
        """
        try:
            page = self.page()
        except Exception as e:  # anything at all: whatever the directory holds, an answer
            reason = f"the front page failed: {type(e).__name__}: {e}"
            self.reader.log.report("failure", [(reason, reason)])
            return 500, "text/plain; charset=utf-8", "cannot show the posts\n"
        self.reader.log.report("failure", [])
        return 200, "text/html; charset=utf-8", page

    def health(self) -> dict[str, object]:
        """What operators and tests need to count starts and see the active mode."""
        return {
            "status": "ok",
            "mode": self.mode,
            "pid": self.pid,
            "started_at": self.started_at,
            "start_id": self.start_id,
            "version": VERSION,
        }

    def page(self) -> str:
        """The blog's front page as HTML."""
        banner = (
            '<p class="banner">TEST MODE: sample posts only</p>\n' if self.mode == "test" else ""
        )
        articles = "".join(render_article(post) for post in self.posts())
        return (
            '<!doctype html>\n<html><head><meta charset="utf-8">'
            "<title>ExampleBlog</title></head>\n"
            f"<body>\n{banner}<h1>ExampleBlog</h1>\n{articles or '<p>No posts yet.</p>'}\n"
            "</body></html>\n"
        )


def read_mode(mode_file: pathlib.Path) -> str:
    """Read and validate the mode; surrounding whitespace is not significant."""
    try:
        mode = mode_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise ModeError(f"cannot read mode file {mode_file}: {e}") from e
    if mode not in MODES:
        raise ModeError(
            f"mode file {mode_file} holds {mode!r}; expected one of {', '.join(MODES)}"
        )
    return mode


def start_blog(mode_file: pathlib.Path, posts_dir: pathlib.Path) -> Blog:
    """Decide everything this process will serve, once."""
    return Blog(
        mode=read_mode(mode_file),
        posts_dir=posts_dir,
        start_id=uuid.uuid4().hex,
        started_at=datetime.datetime.now(datetime.UTC).isoformat(),
        pid=os.getpid(),
    )


def make_handler(blog: Blog) -> type[http.server.BaseHTTPRequestHandler]:
    """Build a request handler bound to one started blog."""
    # Turns for building and sending front pages: what bounds their memory.
    turns = threading.BoundedSemaphore(MAX_CONCURRENT_PAGES)

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = f"ExampleBlog/{VERSION}"
        # Every read and every whole write on the connection: a client that
        # sends nothing, or does not take its page, is let go.
        timeout = REQUEST_TIMEOUT_SECONDS

        def do_GET(self) -> None:
            if self.path == "/health":
                self._send(200, "application/json", json.dumps(blog.health()) + "\n")
            elif self.path in ("/", "/index.html"):
                self._front_page()
            else:
                self._send(404, "text/plain; charset=utf-8", "not found\n")

        def _front_page(self) -> None:
            if not turns.acquire(timeout=PAGE_WAIT_SECONDS):
                self._send(503, "text/plain; charset=utf-8", "busy: try again shortly\n")
                return
            try:
                self._send(*blog.front_page())
            finally:
                turns.release()

        def _send(self, code: int, content_type: str, body: str) -> None:
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            # Answered health checks (Pebble's every 10 s, the charm's every
            # hook) would drown the requests that matter; a failed one is logged.
            if self.path == "/health" and code == http.HTTPStatus.OK:
                return
            super().log_request(code, size)

        def log_message(self, format: str, *args: object) -> None:
            # One line per request on stderr, which systemd and Pebble both collect.
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return Handler


def notify_service_manager(message: str) -> None:
    """Send ``message`` to systemd's notification socket (``Type=notify``); a no-op elsewhere.

    The blog says ``READY=1`` only once its socket is bound, so under systemd
    a successful start means the blog can serve, and a start that cannot fails
    visibly. Under Pebble, or run by hand, there is no ``NOTIFY_SOCKET``.
    """
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.connect(address)
        sock.sendall(message.encode())


def fail(reason: str, status: int) -> int:
    """Say why the blog cannot run, to its log and to systemd's status line; return ``status``."""
    print(f"{REASON_PREFIX}{reason}", file=sys.stderr, flush=True)
    notify_service_manager(f"STATUS={reason}")
    return status


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line; every path has a default for production and a flag for tests."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mode-file", type=pathlib.Path, default=pathlib.Path(DEFAULT_MODE_FILE))
    parser.add_argument("--posts-dir", type=pathlib.Path, default=pathlib.Path(DEFAULT_POSTS_DIR))
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 (a web service listens on all)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start the blog and serve until stopped; a bad mode file is fatal and visible."""
    args = parse_args(argv)
    try:
        blog = start_blog(args.mode_file, args.posts_dir)
    except ModeError as e:
        return fail(str(e), EXIT_BAD_MODE)

    class Server(http.server.ThreadingHTTPServer):  # the base looked up now: tests stand in for it
        request_queue_size = LISTEN_BACKLOG

    try:
        server = Server((args.host, args.port), make_handler(blog))
    except OSError as e:
        return fail(f"cannot listen on port {args.port}: {e.strerror or e}", EXIT_CANNOT_LISTEN)
    print(
        f"example-blog {VERSION}: serving {blog.mode} mode on port {server.server_port}, "
        f"start id {blog.start_id}",
        file=sys.stderr,
        flush=True,
    )
    notify_service_manager(f"READY=1\nSTATUS=serving {blog.mode} mode")
    with server:
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
