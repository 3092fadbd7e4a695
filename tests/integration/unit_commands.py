"""Every command the integration tier runs inside a unit, and the parsers of what they print.

The integration tests meet a real controller only where users run them, so
each command line here is also run, exactly as written, by the real-substrate
tier against a real systemd and a real Pebble (``tests/substrate/
test_unit_commands.py``), and every parser is tested there on the output of
those real service managers. Keep this module free of Juju and pytest: it is
plain strings in and plain values out.

Each command is a shell script for ``juju exec``, which runs it with bash in
the charm's directory, as root, in a hook context (Juju's hook tools on
``PATH``, ``JUJU_UNIT_NAME`` and friends set) but with no event: Juju sets
neither ``JUJU_DISPATCH_PATH`` nor ``JUJU_WORKLOAD_NAME`` there. On Kubernetes
it runs in the charm container, which shares the pod's network with the
workload and reaches the workload's Pebble through its socket.
"""

from __future__ import annotations

import html
import json
import re
import shlex
from dataclasses import dataclass
from typing import Any, Final

SERVICE: Final = "example-blog"
UNIT: Final = f"{SERVICE}.service"
PORT: Final = 8080
MODE_FILE: Final = "/etc/example_blog/mode"
# Where the posts storage is mounted, on the machine and in the workload container alike.
POSTS_DIR: Final = "/var/lib/example_blog/posts"
WORKLOAD_CONTAINER: Final = "blog"
PEBBLE_READY: Final = f"{WORKLOAD_CONTAINER}-pebble-ready"
# systemd's catalogue id of its "unit started" journal message.
UNIT_STARTED: Final = "39f53479d3a045ac8e11786248231fbf"
# The Pebble client in the charm container, pointed at the workload's Pebble.
PEBBLE: Final = (
    f"PEBBLE_SOCKET=/charm/containers/{WORKLOAD_CONTAINER}/pebble.socket /charm/bin/pebble"
)
# Pebble's change summary for a start of the service (``container.start``).
PEBBLE_START: Final = f'Start service "{SERVICE}"'
# Seconds before a detached reboot fires: long enough for ``juju exec`` to return.
REBOOT_DELAY: Final = 3

# GET one path of the blog on the loopback: its body on stdout, else a reason and exit 1.
_GET = """
import http.client, sys
connection = http.client.HTTPConnection("127.0.0.1", {port}, timeout=10)
try:
    connection.request("GET", "{path}")
    response = connection.getresponse()
    body = response.read().decode()
except OSError as e:
    sys.exit(f"no answer on port {port}: {{e}}")
if response.status != 200:
    sys.exit(f"{path} answered {{response.status}}: {{body}}")
{write}
"""
_HEALTH = _GET.format(port=PORT, path="/health", write="print(body)")
# The page is written as served, so that the parser sees its very bytes.
_FRONT_PAGE = _GET.format(port=PORT, path="/", write="sys.stdout.write(body)")
# What the front page shows of a post (``example_blog.render_article``); a
# truncated post carries a marker paragraph after its body.
_ARTICLE = re.compile(
    r"<article><h2>(?P<title>.*?)</h2><p>(?P<body>.*?)</p>(?P<marker><p [^>]*>.*?</p>)?</article>",
    re.DOTALL,
)
_TEST_BANNER = '<p class="banner">TEST MODE'
_PAGE_HEADING = "<h1>ExampleBlog</h1>"


def hook(name: str) -> str:
    """Run one of the charm's hooks through its ``dispatch``, as the unit agent would.

    ``juju exec`` gives a hook context but no event, so the command names
    the event the way Juju does for a real hook: ``JUJU_DISPATCH_PATH``,
    and for a ``*-pebble-ready`` event also ``JUJU_WORKLOAD_NAME``, which
    ops needs to build the event's ``workload`` (without it ops stops
    before the charm runs).
    """
    variables = [f"JUJU_DISPATCH_PATH=hooks/{name}"]
    if name.endswith("-pebble-ready"):
        variables.append(f"JUJU_WORKLOAD_NAME={name.removesuffix('-pebble-ready')}")
    return shlex.join([*variables, "./dispatch"])


def health() -> str:
    """GET the blog's ``/health`` on the unit's loopback (the pod's network on Kubernetes)."""
    return shlex.join(["python3", "-c", _HEALTH])


def parse_health(output: str) -> dict[str, Any]:
    """The blog's health report from :func:`health`'s output."""
    report: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return report


def front_page() -> str:
    """GET the blog's front page on the unit's loopback (the pod's network on Kubernetes).

    The way to see the posts from inside on both charms: the workload image
    on Kubernetes has no shell to list the storage with, and what the blog
    serves is what counts.
    """
    return shlex.join(["python3", "-c", _FRONT_PAGE])


@dataclass(frozen=True)
class Post:
    """One post as the front page shows it, its HTML escapes undone."""

    title: str
    body: str
    truncated: bool = False


@dataclass(frozen=True)
class FrontPage:
    """What :func:`front_page` printed: the test banner or not, and the posts, newest first."""

    test_mode: bool
    posts: tuple[Post, ...]

    def titled(self, title: str) -> list[Post]:
        """Every post on the page with this title."""
        return [post for post in self.posts if post.title == title]


def parse_front_page(output: str) -> FrontPage:
    """:func:`front_page`'s output as what it shows; ValueError if it is not the blog's page."""
    if _PAGE_HEADING not in output:
        raise ValueError(f"not ExampleBlog's front page:\n{output}")
    posts = tuple(
        Post(html.unescape(m["title"]), html.unescape(m["body"]), m["marker"] is not None)
        for m in _ARTICLE.finditer(output)
    )
    return FrontPage(test_mode=_TEST_BANNER in output, posts=posts)


def boot_id() -> str:
    """The kernel's id of the current boot: new after every reboot."""
    return "cat /proc/sys/kernel/random/boot_id"


def reboot() -> str:
    """Reboot the machine a few seconds from now, so that ``juju exec`` returns first."""
    return shlex.join(
        [
            *("systemd-run", "--quiet", f"--on-active={REBOOT_DELAY}"),
            *("--timer-property=AccuracySec=100ms", "systemctl", "reboot"),
        ]
    )


def machine_mode_file() -> str:
    """The mode file on the machine."""
    return shlex.join(["cat", MODE_FILE])


def delete_machine_mode_file() -> str:
    """Delete the mode file by hand, as an operator might."""
    return shlex.join(["rm", "-f", MODE_FILE])


def systemd_starts() -> str:
    """The "started" messages of the unit in the journal of this boot, as JSON lines."""
    return shlex.join(
        [
            *("journalctl", "--boot=0", "--output=json", "--no-pager"),
            f"MESSAGE_ID={UNIT_STARTED}",
            f"UNIT={UNIT}",
        ]
    )


def parse_systemd_starts(output: str) -> list[str]:
    """The InvocationID of every start in :func:`systemd_starts`' output, oldest first."""
    entries = [json.loads(line) for line in output.splitlines() if line.strip()]
    return [str(entry["INVOCATION_ID"]) for entry in entries]


def systemd_unit() -> str:
    """What systemd records of the unit's current run."""
    properties = ("InvocationID", "MainPID", "NRestarts", "ActiveState", "SubState")
    return shlex.join(["systemctl", "show", *(f"--property={name}" for name in properties), UNIT])


def parse_systemd_unit(output: str) -> dict[str, str]:
    """:func:`systemd_unit`'s output as a mapping of property to value."""
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def pebble_mode_file() -> str:
    """The mode file in the workload container, read with the charm container's Pebble client.

    The workload image is chiselled (no shell, no ``cat``), so the file is
    pulled through Pebble's file API into a temporary file of the charm
    container, printed, and removed.
    """
    return (
        "f=$(mktemp) && trap 'rm -f \"$f\"' EXIT && "
        f'{PEBBLE} pull {shlex.quote(MODE_FILE)} "$f" && cat "$f"'
    )


def pebble_changes() -> str:
    """Every change Pebble has made to the service in this pod, with absolute times."""
    return f"{PEBBLE} changes --abs-time {shlex.quote(SERVICE)}"


@dataclass(frozen=True)
class PebbleChange:
    """One row of ``pebble changes``."""

    id: str
    status: str
    summary: str


def parse_pebble_changes(output: str) -> list[PebbleChange]:
    """The rows of :func:`pebble_changes`' table, oldest first.

    With ``--abs-time`` the spawn and ready columns are single RFC 3339
    words (or ``-``), so every row splits into four words and the summary.
    """
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines or lines[0].split() != ["ID", "Status", "Spawn", "Ready", "Summary"]:
        raise ValueError(f"not a table of Pebble changes:\n{output}")
    rows: list[PebbleChange] = []
    for line in lines[1:]:
        change_id, status, _spawn, _ready, summary = line.split(maxsplit=4)
        rows.append(PebbleChange(change_id, status, summary))
    return rows


def pebble_starts(changes: list[PebbleChange]) -> int:
    """How many times the charm had Pebble start the service (done or failed)."""
    return sum(1 for change in changes if change.summary == PEBBLE_START)


def pebble_service() -> str:
    """The service's current state and since when, as Pebble reports it."""
    return f"{PEBBLE} services --abs-time {shlex.quote(SERVICE)}"


@dataclass(frozen=True)
class PebbleService:
    """One row of ``pebble services``."""

    name: str
    startup: str
    current: str
    since: str


def parse_pebble_service(output: str) -> PebbleService:
    """The one service row of :func:`pebble_service`' table."""
    lines = [line for line in output.splitlines() if line.strip()]
    if len(lines) != 2 or lines[0].split() != ["Service", "Startup", "Current", "Since"]:
        raise ValueError(f"not a table of one Pebble service:\n{output}")
    name, startup, current, since = lines[1].split()
    return PebbleService(name, startup, current, since)
