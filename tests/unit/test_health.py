"""The charm's one health read: the blog's answer, or None for anything that is not one."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import example_blog
import health


def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def answering(code: int, body: bytes) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def test_the_blogs_answer_is_read(tmp_path: Path):
    (tmp_path / "mode").write_text("production\n")
    blog = example_blog.start_blog(tmp_path / "mode", tmp_path)

    for port in serving(example_blog.make_handler(blog)):
        assert health.read(port) == health.Health("production", blog.start_id)


@pytest.mark.parametrize(
    ("code", "body"),
    [
        (500, b'{"mode": "test", "start_id": "x"}'),
        (200, b"not json"),
        (200, b'["test"]'),
        (200, b'{"mode": 1, "start_id": "x"}'),
        (200, b'{"mode": "test"}'),
        (200, b"\xff\xfe"),
    ],
    ids=["error", "not-json", "not-an-object", "mode-not-text", "no-start-id", "not-text"],
)
def test_anything_but_the_blogs_answer_is_none(code: int, body: bytes):
    for port in serving(answering(code, body)):
        assert health.read(port) is None


def test_nothing_listening_is_none():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    assert health.read(port) is None


def test_a_listener_that_never_answers_costs_at_most_the_timeout():
    answers: list[health.Health | None] = []
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        reader = threading.Thread(
            target=lambda: answers.append(health.read(silent.getsockname()[1], timeout=0.2)),
            daemon=True,
        )
        began = time.monotonic()
        reader.start()
        # Bounded here too: a read without its timeout would wait for ever.
        reader.join(timeout=2.0)
        took = time.monotonic() - began

    assert not reader.is_alive(), "the read ignored its timeout"
    assert answers == [None]
    assert took < 1.0
