"""ExampleBlog as a systemd service on the unit's own machine.

Files are local paths, the service is a hardened systemd unit, and every call
to systemd goes through charmlibs-systemd (``systemctl`` underneath), which is
where the tests watch starts and stops.
"""

from __future__ import annotations

from typing import Final

from charmlibs import systemd
from charmlibs.pathops import LocalPath

from workload import CODE_FILE, COMMAND, MODE_FILE, SERVICE_NAME, ManagedFile

UNIT_FILE: Final = f"/etc/systemd/system/{SERVICE_NAME}.service"

# DynamicUser gives the blog a throwaway unprivileged user; the rest takes away
# everything a small read-only web service does not need.
UNIT_TEXT: Final = f"""\
[Unit]
Description=ExampleBlog, the blog run by the example-blog charm
After=network.target

[Service]
ExecStart={COMMAND}
Restart=on-failure
RestartSec=2
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
RestrictAddressFamilies=AF_INET AF_INET6
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


class SystemdWorkload:
    """ExampleBlog under systemd on this machine."""

    # systemctl failures are real failures here: the hook fails and Juju retries it.
    unreachable_errors: tuple[type[Exception], ...] = ()

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
        """Enable and start in one call, so the service also comes back after a reboot."""
        systemd.service_enable("--now", SERVICE_NAME)

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
