"""ExampleBlog as a systemd service on the unit's own machine.

Files are local paths, the service is a hardened systemd unit, and every call
to systemd goes through charmlibs-systemd (``systemctl`` underneath), which is
where the tests watch starts and stops.
"""

from __future__ import annotations

import grp
import os
import pathlib
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
from typing import Final

from charmlibs import systemd
from charmlibs.pathops import LocalPath, PathProtocol

from example_blog import EXIT_BAD_MODE, EXIT_CANNOT_LISTEN
from workload import (
    CODE_FILE,
    COMMAND,
    FILE_MODE,
    FILE_OWNER,
    MODE_FILE,
    POSTS_DIR,
    SERVICE_NAME,
    Drift,
    FileMetadata,
    ManagedFile,
    StartFailedError,
    last_output_line,
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
# How many of a failed run's last journal entries are searched for its last words.
OUTPUT_LINES: Final = 20
# A bound for each system command the charm runs besides systemctl.
COMMAND_TIMEOUT: Final = 10

# Type=notify: the blog tells systemd it is ready once its socket is bound, so
# a successful start is a blog that can serve, and one that cannot fails the
# start where the charm sees it (AF_UNIX is allowed for that notification only).
# DynamicUser gives the blog a throwaway unprivileged user; the rest takes away
# everything a small read-only web service does not need. The posts are the
# ``posts`` storage, mounted by Juju. RequiresMountsFor= makes the blog need
# and follow the storage's mount when systemd knows it (from fstab, where
# Juju lists it since late 2025); one an older Juju's agent makes after boot
# the running blog serves as it appears, since it lists its posts afresh.
# Like the rest of the file system (ProtectSystem=strict) the blog can only
# read it, and it writes nothing, so it has no StateDirectory=. Its Python
# writes unbuffered, so the journal holds its last words in the order said.
UNIT_TEXT: Final = f"""\
[Unit]
Description=ExampleBlog, the blog run by the example-blog charm
After=network.target
RequiresMountsFor={POSTS_DIR}
StartLimitIntervalSec={START_LIMIT_INTERVAL}
StartLimitBurst={START_LIMIT_BURST}

[Service]
Type=notify
NotifyAccess=main
ExecStart={COMMAND}
Environment=PYTHONUNBUFFERED=1
Restart=on-failure
RestartSec={RESTART_SEC}
RestartPreventExitStatus={EXIT_BAD_MODE} {EXIT_CANNOT_LISTEN}
DynamicUser=yes
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


# Revisions before the posts storage had StateDirectory=example_blog, with
# which systemd made this directory a symlink into /var/lib/private: a
# directory (0700) that only a service with that StateDirectory= may enter.
# Juju mounts the storage through that link, at OLD_POSTS.
STATE_LINK: Final = str(pathlib.PurePosixPath(POSTS_DIR).parent)
OLD_POSTS: Final = f"/var/lib/private/{pathlib.PurePosixPath(STATE_LINK).name}/posts"
MOUNT_TABLE: Final = "/proc/self/mountinfo"


class UnitFile(ManagedFile):
    """The unit file; systemd only sees a new one after a daemon-reload.

    Replacing the unit of a revision before the posts storage also undoes
    the state directory that unit left, which the new blog could not enter
    (see :func:`leave_state_directory`).
    """

    def drift(self) -> Drift:
        """The file's drift, and what the old unit left, which needs the blog stopped."""
        if left_state_directory(self.workload.path(STATE_LINK), self.workload.path(OLD_POSTS)):
            return Drift.CONTENT
        return super().drift()

    def apply(self) -> None:
        """Put the posts where the new unit reads them, write the unit, tell systemd."""
        leave_state_directory(
            self.workload.path(STATE_LINK),
            self.workload.path(OLD_POSTS),
            self.workload.path(POSTS_DIR),
        )
        super().apply()
        systemd.daemon_reload()


def left_state_directory(link: PathProtocol, old_posts: PathProtocol) -> bool:
    """Whether the old unit's symlink, or a storage mounted through it, is still there."""
    return link.is_symlink() or is_mount_point(str(old_posts))


def leave_state_directory(
    link: PathProtocol, old_posts: PathProtocol, posts: PathProtocol
) -> None:
    """Make ``link`` a directory again, with the posts storage mounted where the metadata says.

    Juju mounts the storage at its location, which resolves through the
    symlink to ``old_posts``, so the mount is moved to the real path (bound
    there, then unmounted from the old one: a mount under a shared one cannot
    be moved). Each step is checked on its own, so a hook that fails half-way
    (or a mount Juju makes meanwhile) is finished by the next one. Posts the
    operator kept in the old directory stay there untouched, visible again
    once the storage no longer covers them (docs/posts.md says how to copy them).
    """
    if link.is_symlink():
        link.unlink()
        posts.mkdir(mode=0o755, parents=True, exist_ok=True)
    if is_mount_point(str(old_posts)):
        posts.mkdir(mode=0o755, parents=True, exist_ok=True)
        if not is_mount_point(str(posts)):
            _run("mount", "--bind", str(old_posts), str(posts))
        _run("umount", str(old_posts))


def is_mount_point(path: str, table: str = MOUNT_TABLE) -> bool:
    """Whether a file system is mounted at ``path``, bind mounts of a directory included.

    ``os.path.ismount`` compares devices, which a bind mount from the same
    file system does not change; the kernel's mount table says it.
    """
    with open(table, encoding="utf-8") as lines:
        # The fifth field is the mount point, with space, tab, newline and backslash octal-escaped.
        points = {line.split()[4] for line in lines if len(line.split()) > 4}
    escaped = path
    for char in "\\ \t\n":
        escaped = escaped.replace(char, f"\\{ord(char):03o}")
    return escaped in points


def _run(*command: str) -> None:
    """Run a system command with fixed arguments; fail the hook with its error if it fails."""
    subprocess.run(command, capture_output=True, text=True, check=True, timeout=COMMAND_TIMEOUT)  # noqa: S603


def _systemctl(*args: str) -> str:
    """Run a systemctl command that charmlibs-systemd does not wrap; its output."""
    # systemctl from PATH with fixed arguments, as charmlibs-systemd runs it.
    command = ["systemctl", *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603


def unit_properties(*names: str) -> dict[str, str]:
    """Properties of the blog's unit, as ``systemctl show`` reports them."""
    shown = _systemctl("show", *(f"--property={name}" for name in names), SERVICE_NAME)
    return dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)


def last_words(invocation: str) -> str | None:
    """The last line the blog's run ``invocation`` wrote, or systemd wrote for it.

    The journal files a service's output under its invocation, and also the
    lines systemd's own process for it logged before the program ran (an
    interpreter that cannot be executed, a user that cannot be made).
    """
    if not invocation:
        return None
    # journalctl from PATH, as systemctl is run; the invocation id is systemd's own.
    command = [
        "journalctl",
        f"_SYSTEMD_INVOCATION_ID={invocation}",
        f"--lines={OUTPUT_LINES}",
        "--output=cat",
        "--no-pager",
        "--quiet",
    ]
    shown = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
    )
    prefix = f"{SERVICE_NAME}.service: "
    return last_output_line(line.removeprefix(prefix) for line in shown.stdout.splitlines())


def describe_failure(result: str, main_status: str, status_text: str, output: str | None) -> str:
    """Why the unit's last run ended, from systemd's own record of it.

    ``main_status`` is the exit status or, for a signal, the signal's number.
    The blog's own words (its last ``STATUS=``) are used only with the exit
    statuses it sets them for, so an older status line is never shown as the
    reason for a newer failure. Otherwise the run's last line of ``output``
    says what the exit status cannot (an exception, an exec failure).
    """
    if result == "exit-code" and main_status.isdigit():
        if int(main_status) in REASONED_EXITS and status_text:
            return status_text
        ended = f"it exited with status {main_status}"
    elif result in ("signal", "core-dump") and main_status.isdigit():
        ended = f"it was killed by {signal.Signals(int(main_status)).name}"
    elif result == "start-limit-hit":
        return "systemd stopped restarting it: too many restarts"
    else:
        ended = f"systemd reports {result!r}"
    return f"{ended}: {output}" if output else ended


def local_metadata(path: LocalPath) -> FileMetadata:
    """Owner, group and permission bits from ``stat``; None for an id with no name."""
    info = path.stat()
    try:
        user: str | None = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        user = None
    try:
        group: str | None = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = None
    return FileMetadata(user, group, stat.S_IMODE(info.st_mode))


def set_local_metadata(path: LocalPath) -> None:
    """Give a local file the charm's owner and permissions, in place."""
    os.chmod(path, FILE_MODE)
    shutil.chown(path, FILE_OWNER, FILE_OWNER)


def create_local_file(target: LocalPath, content: str) -> None:
    """Write a hidden temporary file beside ``target``, then hard-link it into place.

    ``link`` fails on an existing name where ``rename`` would replace it, so
    the file appears whole or not at all and never replaces another. The
    temporary name does not end in the blog's post suffix, so the blog never
    lists it.
    """
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as written:
            written.write(content)
            written.flush()
            os.fsync(written.fileno())
        os.chmod(temporary, FILE_MODE)
        shutil.chown(temporary, FILE_OWNER, FILE_OWNER)
        os.link(temporary, target)
    finally:
        os.unlink(temporary)
    # The new name is on disk too, once the action says it is written.
    directory = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class LocalFiles:
    """The file half of a workload whose files are local paths (:meth:`path`).

    :class:`SystemdWorkload` is one; any workload whose files are local paths,
    wherever they are rooted, can share it.
    """

    def path(self, location: str) -> LocalPath:
        """The local path of ``location``."""
        raise NotImplementedError

    def metadata(self, location: str) -> FileMetadata:
        """Owner, group and permission bits of a local file."""
        return local_metadata(self.path(location))

    def set_metadata(self, location: str) -> None:
        """Chmod and chown the file in place."""
        set_local_metadata(self.path(location))

    def create_file(self, location: str, content: str) -> None:
        """Create a local file, atomically and never over another."""
        create_local_file(self.path(location), content)


class SystemdWorkload(LocalFiles):
    """ExampleBlog under systemd on this machine."""

    # systemctl failures are real failures here: the hook fails and Juju retries it.
    unreachable_errors: tuple[type[Exception], ...] = ()
    log_command = f"journalctl -u {SERVICE_NAME}"

    def path(self, location: str) -> LocalPath:
        """A path on this machine."""
        return LocalPath(location)

    def service_definition(self) -> UnitFile:
        """The systemd unit file."""
        return UnitFile(self, UNIT_FILE, UNIT_TEXT)

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
                "ActiveState", "SubState", "Result", "ExecMainStatus", "StatusText", "InvocationID"
            )
            # systemctl prints every property it is asked for, empty or not.
            if shown["SubState"] == "auto-restart":
                systemd.service_stop(SERVICE_NAME)
            elif shown["ActiveState"] != "failed":
                raise
            output = last_words(shown["InvocationID"])
            raise StartFailedError(
                describe_failure(
                    shown["Result"], shown["ExecMainStatus"], shown["StatusText"], output
                )
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
