#!/usr/bin/env python3
"""ExampleBlog: the small blog service that both charms run.

It is deliberately old-fashioned: it reads its mode from a file **once, when it
starts**, and never again. Changing the mode therefore means writing the file
and restarting the process, which is exactly the behaviour the charms have to
manage without ever restarting it needlessly.

Standard library only, so it runs on any Python 3.11+ the host or image has.
The charm imports it too (for ``MODES`` and ``VERSION``), so it must stay free
of side effects at import time.
"""

from __future__ import annotations

import argparse
import datetime
import html
import http.server
import json
import os
import pathlib
import socket
import sys
import uuid
from dataclasses import dataclass
from typing import Final

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


@dataclass(frozen=True)
class Blog:
    """Everything the running process decided at start; none of it changes later."""

    mode: str
    posts_dir: pathlib.Path
    start_id: str
    started_at: str
    pid: int

    def posts(self) -> list[Post]:
        """The posts to show: built-in samples in test mode, files in production.

        In production every ``*.txt`` file in the posts directory is a post:
        its first line is the title, the rest the body. A missing directory is
        an empty blog, not an error.
        """
        if self.mode == "test":
            return [Post(title, body) for title, body in SAMPLE_POSTS]
        if not self.posts_dir.is_dir():
            return []
        posts: list[Post] = []
        for path in sorted(self.posts_dir.glob("*.txt")):
            title, _, body = path.read_text(encoding="utf-8", errors="replace").partition("\n")
            posts.append(Post(title.strip() or path.stem, body.strip()))
        return posts

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
        articles = "".join(
            f"<article><h2>{html.escape(post.title)}</h2><p>{html.escape(post.body)}</p></article>\n"
            for post in self.posts()
        )
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

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = f"ExampleBlog/{VERSION}"

        def do_GET(self) -> None:
            if self.path == "/health":
                self._send(200, "application/json", json.dumps(blog.health()) + "\n")
            elif self.path in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", blog.page())
            else:
                self._send(404, "text/plain; charset=utf-8", "not found\n")

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
    try:
        server = http.server.ThreadingHTTPServer((args.host, args.port), make_handler(blog))
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
