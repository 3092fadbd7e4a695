"""ExampleBlog as a systemd service on the unit's own machine.

Files are local paths, the service is a hardened systemd unit, and every call
to systemd goes through charmlibs-systemd (``systemctl`` underneath), which is
where the tests watch starts and stops.
"""

from __future__ import annotations

import signal
import subprocess
from typing import Final

from charmlibs import systemd
from charmlibs.pathops import LocalPath

from example_blog import EXIT_BAD_MODE, EXIT_CANNOT_LISTEN
from workload import (
    CODE_FILE,
    COMMAND,
    MODE_FILE,
    SERVICE_NAME,
    ManagedFile,
    StartFailedError,
)

UNIT_FILE: Final = f"/etc/systemd/system/{SERVICE_NAME}.service"
# systemd restarts a blog that dies after it started serving (a crash, a kill
# from outside), but at most START_LIMIT_BURST times in START_LIMIT_INTERVAL
# seconds: then the unit fails and stays failed, and the charm reports it. A
# blog that cannot serve at all (bad mode file, port in use) exits with a
# status listed in RestartPreventExitStatus=, which ends the loop at once.
RESTART_SEC: Final = 2
START_LIMIT_INTERVAL: Final = 60
START_LIMIT_BURST: Final = 5
# The blog's exit statuses that carry its reason in systemd's StatusText.
REASONED_EXITS: Final = (EXIT_BAD_MODE, EXIT_CANNOT_LISTEN)

# Type=notify: the blog tells systemd it is ready once its socket is bound, so
# a successful start is a blog that can serve, and one that cannot fails the
# start where the charm sees it (AF_UNIX is allowed for that notification only).
# DynamicUser gives the blog a throwaway unprivileged user; the rest takes away
# everything a small read-only web service does not need.
UNIT_TEXT: Final = f"""\
[Unit]
Description=ExampleBlog, the blog run by the example-blog charm
After=network.target
StartLimitIntervalSec={START_LIMIT_INTERVAL}
StartLimitBurst={START_LIMIT_BURST}

[Service]
Type=notify
NotifyAccess=main
ExecStart={COMMAND}
Restart=on-failure
RestartSec={RESTART_SEC}
RestartPreventExitStatus={EXIT_BAD_MODE} {EXIT_CANNOT_LISTEN}
DynamicUser=yes
StateDirectory=example_blog
CapabilityBoundingSet=
AmbientCapabilities=
NoNewPrivileges=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateUsers=yes
ProtectSystem=strict
ProtectHome=yes
ProtectHostname=yes
ProtectClock=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectProc=invisible
ProcSubset=pid
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RemoveIPC=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
UMask=0077

[Install]
WantedBy=multi-user.target
"""


class UnitFile(ManagedFile):
    """The unit file; systemd only sees a new one after a daemon-reload."""

    def apply(self) -> None:
        """Write the unit, then tell systemd to read it."""
        super().apply()
        systemd.daemon_reload()


def _systemctl(*args: str) -> str:
    """Run a systemctl command that charmlibs-systemd does not wrap; its output."""
    # systemctl from PATH with fixed arguments, as charmlibs-systemd runs it.
    command = ["systemctl", *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603


def unit_properties(*names: str) -> dict[str, str]:
    """Properties of the blog's unit, as ``systemctl show`` reports them."""
    shown = _systemctl("show", *(f"--property={name}" for name in names), SERVICE_NAME)
    return dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)


def describe_failure(result: str, main_status: str, status_text: str) -> str:
    """Why the unit's last run ended, from systemd's own record of it.

    ``main_status`` is the exit status or, for a signal, the signal's number.
    The blog's own words (its last ``STATUS=``) are used only with the exit
    statuses it sets them for, so an older status line is never shown as the
    reason for a newer failure.
    """
    if result == "exit-code" and main_status.isdigit():
        if int(main_status) in REASONED_EXITS and status_text:
            return status_text
        return f"it exited with status {main_status}"
    if result in ("signal", "core-dump") and main_status.isdigit():
        return f"it was killed by {signal.Signals(int(main_status)).name}"
    if result == "start-limit-hit":
        return "systemd stopped restarting it: too many restarts"
    return f"systemd reports {result!r}"


class SystemdWorkload:
    """ExampleBlog under systemd on this machine."""

    # systemctl failures are real failures here: the hook fails and Juju retries it.
    unreachable_errors: tuple[type[Exception], ...] = ()
    log_command = f"journalctl -u {SERVICE_NAME}"

    def path(self, location: str) -> LocalPath:
        """A path on this machine."""
        return LocalPath(location)

    def service_definition(self) -> UnitFile:
        """The systemd unit file."""
        return UnitFile(self.path(UNIT_FILE), UNIT_TEXT)

    def is_running(self) -> bool:
        """Whether systemd reports the unit active."""
        return systemd.service_running(SERVICE_NAME)

    def start(self) -> None:
        """Enable and start in one call, so the service also comes back after a reboot.

        A start that fails is told apart from a systemctl that fails by the
        unit's state: only a unit that ran and failed raises
        :class:`StartFailedError`, and a restart systemd scheduled is called off.
        A unit that systemd gave up on (its start limit ended a crash loop of
        its own restarts) accepts this start as it is: no ``reset-failed`` is
        needed (``test_crash_loop_hits_the_start_limit_and_the_next_hook_starts_once``).
        """
        try:
            systemd.service_enable("--now", SERVICE_NAME)
        except systemd.SystemdError:
            shown = unit_properties(
                "ActiveState", "SubState", "Result", "ExecMainStatus", "StatusText"
            )
            # systemctl prints every property it is asked for, empty or not.
            if shown["SubState"] == "auto-restart":
                systemd.service_stop(SERVICE_NAME)
            elif shown["ActiveState"] != "failed":
                raise
            raise StartFailedError(
                describe_failure(shown["Result"], shown["ExecMainStatus"], shown["StatusText"])
            ) from None

    def stop(self) -> None:
        """Stop the service."""
        systemd.service_stop(SERVICE_NAME)

    def remove(self) -> None:
        """Stop and disable the service and delete everything the charm installed."""
        if self.path(UNIT_FILE).exists():
            systemd.service_disable("--now", SERVICE_NAME)
        for location in (UNIT_FILE, CODE_FILE, MODE_FILE):
            self.path(location).unlink(missing_ok=True)
        systemd.daemon_reload()
        for location in (CODE_FILE, MODE_FILE):
            directory = self.path(location).parent
            if directory.exists() and not any(directory.iterdir()):
                directory.rmdir()
