"""ExampleBlog as a Pebble service in the pod's workload container.

Files live in the workload container and are reached through Pebble's file
API (charmlibs-pathops ``ContainerPath``); the service is one Pebble layer.
Pebble's start/stop calls are where the tests watch starts and stops.
"""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass
from typing import Final

import ops
from charmlibs.pathops import ContainerPath

from example_blog import REASON_PREFIX
from workload import COMMAND, PORT, SERVICE_NAME, StartFailedError

CONTAINER_NAME: Final = "blog"
LAYER_NAME: Final = "example-blog"
CHECK_NAME: Final = "blog-alive"
# The image's unprivileged user (see docs/workload.md).
SERVICE_USER: Final = "_daemon_"

LAYER: Final = ops.pebble.Layer(
    {
        "summary": "ExampleBlog",
        "services": {
            SERVICE_NAME: {
                "override": "replace",
                "summary": "ExampleBlog web service",
                "command": COMMAND,
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


def describe_failure(error: ops.pebble.ChangeError) -> str:
    """Why a start failed, from Pebble's record of the failed change.

    Pebble adds the service's last lines of output to the failed task's log;
    the blog's own reason is the last of them that starts with its prefix.
    Without one, Pebble's error says how the process ended.
    """
    lines = [
        line for task in error.change.tasks for entry in task.log for line in entry.splitlines()
    ]
    reasons = [line.split(REASON_PREFIX, 1)[1] for line in lines if REASON_PREFIX in line]
    if reasons:
        return reasons[-1].strip()
    last = error.err.strip().splitlines()[-1] if error.err.strip() else "Pebble gave no reason"
    found = re.search(r"\((.*)\)$", last)
    return found.group(1) if found else last.lstrip("- ")


@dataclass(frozen=True)
class PebbleServiceDefinition:
    """The service and its health check as Pebble's plan should hold them."""

    container: ops.Container

    def is_current(self) -> bool:
        """Whether the plan already holds exactly this service and check."""
        plan = self.container.get_plan()
        return plan.services.get(SERVICE_NAME) == LAYER.services[SERVICE_NAME] and (
            plan.checks.get(CHECK_NAME) == LAYER.checks[CHECK_NAME]
        )

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
