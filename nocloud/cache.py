"""Where the harness keeps what outlives a session: machine roots, Pebble, other builds."""

from __future__ import annotations

import os
from pathlib import Path

from nocloud.settings import CACHE_DIR_ENV, CACHE_NAME


def cache_dir() -> Path:
    """``$NOCLOUD_CACHE_DIR``, else ``${XDG_CACHE_HOME:-~/.cache}/nocloud``; users key entries."""
    if chosen := os.environ.get(CACHE_DIR_ENV):
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / CACHE_NAME
