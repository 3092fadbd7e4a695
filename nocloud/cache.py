"""The one place the test tiers keep what outlives a session (roots, Pebble, charmcraft)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``${XDG_CACHE_HOME:-~/.cache}/example-blog``; each tier keys its own entries inside."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "example-blog"
