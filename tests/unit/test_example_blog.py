"""The blog service itself: it reads its mode once, at start, and says so on /health."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import example_blog


def serve(blog: example_blog.Blog) -> Iterator[str]:
    server = example_blog.http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), example_blog.make_handler(blog)
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture
def mode_file(tmp_path: Path) -> Path:
    return tmp_path / "mode"


@pytest.mark.parametrize("content", ["test", "test\n", "  test \n\n"])
def test_mode_is_read_with_surrounding_whitespace_ignored(mode_file: Path, content: str):
    mode_file.write_text(content)

    assert example_blog.read_mode(mode_file) == "test"


@pytest.mark.parametrize("content", ["", "Test", "prod", "test production", "\x00"])
def test_invalid_mode_is_refused(mode_file: Path, content: str):
    mode_file.write_text(content)

    with pytest.raises(example_blog.ModeError, match="expected one of test, production"):
        example_blog.read_mode(mode_file)


def test_missing_mode_file_exits_non_zero_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    code = example_blog.main(["--mode-file", str(tmp_path / "absent"), "--port", "0"])

    assert code == 2
    assert "cannot read mode file" in capsys.readouterr().err


def test_health_reports_mode_pid_start_time_and_a_new_id_per_start(
    mode_file: Path, tmp_path: Path
):
    mode_file.write_text("production\n")
    first = example_blog.start_blog(mode_file, tmp_path)
    second = example_blog.start_blog(mode_file, tmp_path)

    for body in (first.health(), second.health()):
        assert body["mode"] == "production"
        assert isinstance(body["pid"], int)
        assert body["started_at"]
    assert first.start_id != second.start_id


def test_mode_is_read_only_at_start(mode_file: Path, tmp_path: Path):
    mode_file.write_text("test\n")
    blog = example_blog.start_blog(mode_file, tmp_path)
    mode_file.write_text("production\n")

    for base in serve(blog):
        status, body = get(f"{base}/health")
        assert status == 200
        assert json.loads(body)["mode"] == "test"


def test_test_mode_serves_samples_under_a_banner(mode_file: Path, tmp_path: Path):
    mode_file.write_text("test")
    for base in serve(example_blog.start_blog(mode_file, tmp_path)):
        status, page = get(f"{base}/")
        assert status == 200
        assert "TEST MODE" in page
        assert "Hello from test mode" in page
        assert get(f"{base}/missing")[0] == 404


def test_production_serves_posts_from_the_data_directory(mode_file: Path, tmp_path: Path):
    mode_file.write_text("production")
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "01.txt").write_text("First <post>\nIt is escaped.\n")
    (posts / "02.txt").write_text("\nUntitled body\n")
    for base in serve(example_blog.start_blog(mode_file, posts)):
        _, page = get(f"{base}/index.html")
        assert "TEST MODE" not in page
        assert "First &lt;post&gt;" in page
        assert "<h2>02</h2>" in page


def test_production_without_posts_is_an_empty_blog(mode_file: Path, tmp_path: Path):
    mode_file.write_text("production")
    blog = example_blog.start_blog(mode_file, tmp_path / "absent")

    assert blog.posts() == []
    assert "No posts yet." in blog.page()


def test_main_serves_until_shut_down(mode_file: Path, monkeypatch: pytest.MonkeyPatch):
    mode_file.write_text("test")
    started = threading.Event()
    servers: list[example_blog.http.server.ThreadingHTTPServer] = []

    class Recording(example_blog.http.server.ThreadingHTTPServer):
        def serve_forever(self, poll_interval: float = 0.5) -> None:
            servers.append(self)
            started.set()
            super().serve_forever(poll_interval)

    monkeypatch.setattr(example_blog.http.server, "ThreadingHTTPServer", Recording)
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(
            example_blog.main(
                ["--mode-file", str(mode_file), "--host", "127.0.0.1", "--port", "0"]
            )
        )
    )
    thread.start()
    assert started.wait(timeout=10)
    status, body = get(f"http://127.0.0.1:{servers[0].server_port}/health")
    servers[0].shutdown()
    thread.join(timeout=10)

    assert status == 200
    assert json.loads(body)["mode"] == "test"
    assert result == [0]


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A stand-in for systemd's notification socket, named in NOTIFY_SOCKET."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(path))
        listener.settimeout(10)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        yield listener


def test_main_tells_systemd_it_is_ready_only_once_it_can_serve(
    mode_file: Path, notify_socket: socket.socket, monkeypatch: pytest.MonkeyPatch
):
    mode_file.write_text("production")
    servers: list[example_blog.http.server.ThreadingHTTPServer] = []

    class Recording(example_blog.http.server.ThreadingHTTPServer):
        def server_activate(self) -> None:
            super().server_activate()
            servers.append(self)

    monkeypatch.setattr(example_blog.http.server, "ThreadingHTTPServer", Recording)
    thread = threading.Thread(
        target=example_blog.main,
        args=(["--mode-file", str(mode_file), "--host", "127.0.0.1", "--port", "0"],),
        daemon=True,
    )
    thread.start()
    try:
        message = notify_socket.recv(4096).decode()
        # Ready means bound and listening: the blog answers as soon as systemd hears it,
        # even before its serving loop has begun.
        [server] = servers
        status, body = get(f"http://127.0.0.1:{server.server_port}/health")
    finally:
        for server in servers:
            # shutdown() waits for a serving loop that may never have begun: bounded here.
            stopper = threading.Thread(target=server.shutdown, daemon=True)
            stopper.start()
            stopper.join(timeout=10)
        thread.join(timeout=10)
    assert not thread.is_alive()

    assert message.splitlines() == ["READY=1", "STATUS=serving production mode"]
    assert (status, json.loads(body)["mode"]) == (200, "production")


def test_port_in_use_exits_with_its_own_status_and_says_why(
    mode_file: Path, notify_socket: socket.socket, capsys: pytest.CaptureFixture[str]
):
    mode_file.write_text("test")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]

        result = example_blog.main(
            ["--mode-file", str(mode_file), "--host", "127.0.0.1", "--port", str(port)]
        )

    reason = f"cannot listen on port {port}: Address already in use"
    assert result == example_blog.EXIT_CANNOT_LISTEN
    assert capsys.readouterr().err == f"example-blog: {reason}\n"
    assert notify_socket.recv(4096).decode() == f"STATUS={reason}"


def test_abstract_notify_socket_is_reached(monkeypatch: pytest.MonkeyPatch):
    """Systemd may name an abstract socket: its address then starts with ``@``."""
    name = f"example-blog-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(f"\0{name}")
        listener.settimeout(10)
        monkeypatch.setenv("NOTIFY_SOCKET", f"@{name}")

        example_blog.notify_service_manager("READY=1")

        assert listener.recv(64) == b"READY=1"


def test_without_systemd_nothing_is_notified(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)

    example_blog.notify_service_manager("READY=1")  # must not fail outside systemd


def test_answered_health_checks_stay_out_of_the_log(
    mode_file: Path, capsys: pytest.CaptureFixture[str]
):
    mode_file.write_text("test")
    blog = example_blog.start_blog(mode_file, mode_file.parent)
    for url in serve(blog):
        for _ in range(3):
            get(f"{url}/health")
        get(f"{url}/")
        get(f"{url}/missing")

    logged = capsys.readouterr().err.splitlines()
    assert len(logged) == 2
    assert '"GET / HTTP/1.1" 200' in logged[0]
    assert '"GET /missing HTTP/1.1" 404' in logged[1]
