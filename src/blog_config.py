"""The charm's typed configuration, validated once per hook by ``load_config``."""

from __future__ import annotations

import dataclasses

from example_blog import MODES


@dataclasses.dataclass(frozen=True, kw_only=True)
class BlogConfig:
    """The ``mode`` option, checked against the modes the blog itself accepts.

    Validation is strict on purpose: ``Test`` or `` test`` would be accepted by
    a forgiving charm and then rejected by the blog at its next start, long
    after the operator made the mistake. Rejecting it here keeps the mistake
    next to the command that caused it.
    """

    mode: str = "test"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            valid = " or ".join(repr(mode) for mode in MODES)
            raise ValueError(f"invalid mode {self.mode!r}: set it to {valid}")
