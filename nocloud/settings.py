"""Every constant of the harness, in one place: what it reads, where it keeps things, its bounds.

Standard library only, and nothing but constants: the scripts the harness runs
inside containers and pods (``pod_init``, ``squatter``, the hook tools) import
it too, with ``python -I -S``.
"""

from __future__ import annotations

import signal
from typing import Final

# --- What the harness reads from the environment ------------------------------------------------

# Another Debian mirror for the one-time build of the machine's root.
DEBIAN_MIRROR_ENV: Final = "NOCLOUD_DEBIAN_MIRROR"
# Another directory for the cache (default: ${XDG_CACHE_HOME:-~/.cache}/nocloud).
CACHE_DIR_ENV: Final = "NOCLOUD_CACHE_DIR"
CACHE_NAME: Final = "nocloud"

# --- Programs built with Go (go_build) ----------------------------------------------------------

GO_BUILD_TIMEOUT: Final = 900.0
GO_COMMAND_TIMEOUT: Final = 30.0
# Go 1.21 and later fetch the toolchain a module's go.mod asks for.
MINIMUM_GO: Final = (1, 21)
PEBBLE_MODULE: Final = "github.com/canonical/pebble"
PEBBLE_VERSION: Final = "v1.26.0"

# --- The machine: a booted systemd (nspawn) -----------------------------------------------------

SUITE: Final = "bookworm"  # Debian 12, whose systemd is 252
DEBIAN_PACKAGES: Final = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "python3-venv",
    "ca-certificates",
)
DEFAULT_MIRROR: Final = "http://deb.debian.org/debian"
# Bump when the build steps change in a way the root's cache key does not capture.
ROOT_FORMAT: Final = 1
# The venv holding the Python packages that code run inside the container needs.
VENV: Final = "/opt/charm-harness"
VENV_PYTHON: Final = f"{VENV}/bin/python"
# Written into each root: what it was built from.
ROOT_RECORD: Final = "etc/nocloud-root.json"
# Proxy and index settings that the one-time ``pip install`` inside the root may need.
PASSED_TO_PIP: Final = (
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
)
HOST_CA_IN_CONTAINER: Final = "/run/host-ca-bundle.crt"
DEBOOTSTRAP_TIMEOUT: Final = 900.0
PIP_TIMEOUT: Final = 600.0
BOOT_TIMEOUT: Final = 60.0
POWEROFF_TIMEOUT: Final = 30.0
RUN_TIMEOUT: Final = 30.0
KILL_TIMEOUT: Final = 10.0

# --- Everywhere: the PATH of a clean environment ------------------------------------------------

SYSTEM_PATH: Final = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# --- The pod: Pebble in emulated containers (pebble_pod, pod_init) ------------------------------

# The unprivileged user of Canonical's rocks (ubuntu/python and others).
DAEMON_USER: Final = "_daemon_"
DAEMON_ID: Final = 584792
# What of the host's root the workload container sees (read-only), standing for its image.
HOST_TREES: Final = ("usr", "lib", "lib32", "lib64", "libx32", "bin", "sbin")
DEVICES: Final = ("null", "zero", "full", "random", "urandom")
# Juju's layout: Pebble's binary and the pod's shared volume in the workload
# container, and where the charm container finds each workload's volume.
PEBBLE_INSIDE: Final = "/charm/bin/pebble"
VOLUME_INSIDE: Final = "/charm/container"
CONTAINERS_INSIDE: Final = "/charm/containers"
PEBBLE_SOCKET: Final = "pebble.socket"
# Where the charm container of a Kubernetes unit mounts storage ``<name>/<index>``
# (what ``storage-get location`` reports there), and where a unit keeps its
# storage's data here: a directory of the unit's, outliving its pods.
STORAGE_INSIDE_CHARM: Final = "/var/lib/juju/storage"
STORAGE_DIR: Final = "storage"
# How Juju 3.6 runs Pebble in a sidecar workload container (plus JUJU_CONTAINER_NAME).
PEBBLE_ARGV: Final = (
    PEBBLE_INSIDE,
    "run",
    "--create-dirs",
    "--hold",
    "--http",
    ":38813",
    "--verbose",
)
PEBBLE_ENV: Final = {
    "PATH": SYSTEM_PATH,
    "PEBBLE_SOCKET": f"{VOLUME_INSIDE}/{PEBBLE_SOCKET}",
    "PEBBLE": VOLUME_INSIDE,
    "PEBBLE_COPY_ONCE": "/var/lib/pebble/default",
}
# A command that should be quick; a hook (ops imports, a few Pebble calls); Pebble coming up.
COMMAND_TIMEOUT: Final = 30.0
HOOK_TIMEOUT: Final = 120.0
READY_TIMEOUT: Final = 20.0
# How long one request through the fault-injecting proxy may take.
IO_TIMEOUT: Final = 60.0
POLL: Final = 0.02

# --- The Juju side of a hook (hook_tools) -------------------------------------------------------

STATE_ENV: Final = "NOCLOUD_HOOK_STATE"
LOG_ENV: Final = "NOCLOUD_HOOK_LOG"
JUJU_VERSION: Final = "3.6.8"
MODEL_NAME: Final = "nocloud"
MODEL_UUID: Final = "00000000-0000-4000-8000-000000000000"
# The one kind of storage emulated, and what ``action-fail`` without a message records
# (Juju 3.6's words).
STORAGE_KIND: Final = "filesystem"
# A storage name as Juju's charm metadata allows it (so it needs no quoting in the shell tools).
STORAGE_NAME: Final = r"[a-z][a-z0-9]*(-[a-z0-9]+)*"
ACTION_FAILED_DEFAULT: Final = "action failed without reason given, check action for errors"

# --- Another process on a port (squatter) -------------------------------------------------------

SQUAT_RETRY: Final = 0.005
# Bounds, so that a squatter nobody stops ends by itself.
SQUAT_BIND_TIMEOUT: Final = 60.0
SQUAT_LIFETIME: Final = 600.0

# --- A pod's port on the host (port_forward) ----------------------------------------------------

FORWARD_MAX_CONNECTIONS: Final = 32
FORWARD_IO_TIMEOUT: Final = 30.0
FORWARD_CONNECT_TIMEOUT: Final = 5.0
FORWARD_JOIN_TIMEOUT: Final = 5.0

# --- Stopping between steps (interrupts) --------------------------------------------------------

SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# A signal this long after the first one interrupts the step in progress.
REPEAT_GAP: Final = 1.0
