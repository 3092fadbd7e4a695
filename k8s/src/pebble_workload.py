"""ExampleBlog as a Pebble service in the pod's workload container.

Files live in the workload container and are reached through Pebble's file
API (charmlibs-pathops ``ContainerPath``); the service is one Pebble layer.
Pebble's start/stop calls are where the tests watch starts and stops.
"""

from __future__ import annotations

import http
import http.client
import re
from dataclasses import dataclass
from typing import Final

import ops
from charmlibs.pathops import ContainerPath

from example_blog import REASON_PREFIX
from workload import (
    COMMAND,
    FILE_MODE,
    FILE_OWNER,
    PORT,
    SERVICE_NAME,
    Drift,
    FileMetadata,
    StartFailedError,
    last_output_line,
)

CONTAINER_NAME: Final = "blog"
LAYER_NAME: Final = "example-blog"
CHECK_NAME: Final = "blog-alive"
# The image's unprivileged user (see docs/workload.md).
SERVICE_USER: Final = "_daemon_"
# What Pebble puts before the service's last lines in a failed start's task
# log, each of them then indented by four spaces.
OUTPUT_HEADING: Final = "Most recent service output:"
OUTPUT_INDENT: Final = "    "
# Pebble's words for a service that exited within its first second.
EXITED: Final = re.compile(r"exited quickly with code (\d+)")

LAYER: Final = ops.pebble.Layer(
    {
        "summary": "ExampleBlog",
        "services": {
            SERVICE_NAME: {
                "override": "replace",
                "summary": "ExampleBlog web service",
                "command": COMMAND,
                # Unbuffered, so the service's last lines are its last words.
                "environment": {"PYTHONUNBUFFERED": "1"},
                "startup": "enabled",
                "user": SERVICE_USER,
                "group": SERVICE_USER,
                "on-check-failure": {CHECK_NAME: "restart"},
            }
        },
        "checks": {
            CHECK_NAME: {
                "override": "replace",
                "level": "alive",
                "period": "10s",
                "threshold": 3,
                "http": {"url": f"http://localhost:{PORT}/health"},
            }
        },
    }
)


def service_output(error: ops.pebble.ChangeError) -> list[str]:
    """The service's last lines of output, as Pebble logged them with the failed start."""
    lines: list[str] = []
    for task in error.change.tasks:
        for entry in task.log:
            _, heading, rest = entry.partition(OUTPUT_HEADING)
            if heading:
                lines += [line.removeprefix(OUTPUT_INDENT) for line in rest.splitlines()]
    return lines


def describe_failure(error: ops.pebble.ChangeError) -> str:
    """Why a start failed, from Pebble's record of the failed change.

    The blog's own reason is the last output line that starts with its
    prefix. Otherwise Pebble's error says how the process ended (in the
    words the machine charm uses for an exit status), and the service's last
    line of output (an exception, a missing file) says why; with no output,
    Pebble's error is all there is (a command it could not run).
    """
    output = service_output(error)
    reasons = [line.split(REASON_PREFIX, 1)[1] for line in output if REASON_PREFIX in line]
    if reasons:
        return reasons[-1].strip()
    last = error.err.strip().splitlines()[-1] if error.err.strip() else "Pebble gave no reason"
    if exited := EXITED.search(last):
        ended = f"it exited with status {exited.group(1)}"
    elif found := re.search(r"\((.*)\)$", last):
        ended = found.group(1)
    else:
        ended = last.lstrip("- ")
    words = last_output_line(output)
    return f"{ended}: {words}" if words else ended


@dataclass(frozen=True)
class PebbleServiceDefinition:
    """The service and its health check as Pebble's plan should hold them."""

    container: ops.Container

    def drift(self) -> Drift:
        """Whether the plan holds exactly this service and check; a plan has no owner."""
        plan = self.container.get_plan()
        current = plan.services.get(SERVICE_NAME) == LAYER.services[SERVICE_NAME] and (
            plan.checks.get(CHECK_NAME) == LAYER.checks[CHECK_NAME]
        )
        return Drift.NONE if current else Drift.CONTENT

    def repair(self) -> None:
        """A plan has no owner or permissions: never called, as its drift is never METADATA."""
        self.apply()

    def apply(self) -> None:
        """Add (or replace) the layer; starting is left to the reconcile."""
        self.container.add_layer(LAYER_NAME, LAYER, combine=True)


class PebbleWorkload:
    """ExampleBlog under Pebble in the workload container."""

    # Pebble is unreachable while the workload container (re)starts; an API
    # error is Pebble refusing a request while it is in that state. A Pebble
    # that dies while it holds a request drops the connection under the
    # client, which ops lets through unwrapped: the builtin ConnectionError
    # (ConnectionResetError, http.client.RemoteDisconnected) or, mid-answer,
    # an http.client.HTTPException.
    unreachable_errors: tuple[type[Exception], ...] = (
        ops.pebble.ConnectionError,
        ops.pebble.APIError,
        ConnectionError,
        http.client.HTTPException,
    )
    log_command = f"pebble logs {SERVICE_NAME}"

    def __init__(self, container: ops.Container):
        self.container = container

    def path(self, location: str) -> ContainerPath:
        """A path in the workload container."""
        return ContainerPath(location, container=self.container)

    def metadata(self, location: str) -> FileMetadata:
        """Owner, group and permission bits from Pebble's file listing."""
        try:
            [info] = self.container.list_files(location, itself=True)
        except ops.pebble.APIError as e:
            if e.code == http.HTTPStatus.NOT_FOUND:
                raise FileNotFoundError(location) from None
            raise
        return FileMetadata(info.user, info.group, info.permissions)

    def set_metadata(self, location: str) -> None:
        """Push the same bytes back with the owner and permissions: Pebble has no chmod.

        Pebble writes a pushed file to a temporary one and renames it into
        place, so a reader meanwhile sees the old file or the new, both whole.
        """
        with self.container.pull(location, encoding=None) as current:
            content = current.read()
        self.container.push(
            location, content, permissions=FILE_MODE, user=FILE_OWNER, group=FILE_OWNER
        )

    def create_file(self, location: str, content: str) -> None:
        """Push the file unless it exists; Pebble writes a pushed file atomically.

        The check and the push are two calls, but the only writer of posts is
        this charm, and Juju runs one hook or action of a unit at a time.
        """
        if self.container.exists(location):
            raise FileExistsError(location)
        self.container.push(
            location, content, permissions=FILE_MODE, user=FILE_OWNER, group=FILE_OWNER
        )

    def service_definition(self) -> PebbleServiceDefinition:
        """The Pebble layer."""
        return PebbleServiceDefinition(self.container)

    def is_running(self) -> bool:
        """Whether Pebble reports the service active (absent from the plan counts as not)."""
        service = self.container.get_services(SERVICE_NAME).get(SERVICE_NAME)
        return service is not None and service.is_running()

    def start(self) -> None:
        """Start the service; Pebble returns once it has stayed up for a moment.

        A blog that exits within that moment fails the start, and Pebble then
        goes on restarting it with a growing backoff, without end. The charm
        stops it instead, so that a blog that cannot serve is retried once
        per hook, not in a loop.
        """
        try:
            self.container.start(SERVICE_NAME)
        except ops.pebble.ChangeError as e:
            self.container.stop(SERVICE_NAME)
            raise StartFailedError(describe_failure(e)) from None

    def stop(self) -> None:
        """Stop the service."""
        self.container.stop(SERVICE_NAME)
