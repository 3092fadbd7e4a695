"""The blog's own answer to "are you serving, and in which mode?".

The charm's status comes from here, not from the service manager: a process
that systemd or Pebble calls active may still be unable to serve (another
process holds its port, it is still starting, it hangs). Only the blog's
``/health`` answer, read from inside the unit (the machine's loopback, or the
pod's network, which the charm container shares), shows that it serves and
with which mode it started.

One request per hook in the common case, with a short timeout: a blog that
does not answer within it is not serving, whatever the reason. Only a blog
that its service manager runs but that is silent is asked again, a few times
a second, for up to ``blog_charm.SETTLE_SECONDS`` (it may be in a restart the
manager makes itself).
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Final, cast

# Long enough for a loaded unit to answer a local request, short enough that a
# hung blog costs a hook no more than this.
HEALTH_TIMEOUT: Final = 1.0
HEALTH_PATH: Final = "/health"


@dataclass(frozen=True)
class Health:
    """What the running blog reports about itself."""

    mode: str
    start_id: str


def read(port: int, timeout: float = HEALTH_TIMEOUT) -> Health | None:
    """The blog's health on ``127.0.0.1:port``, or None when it does not answer as the blog.

    ``http.client`` rather than ``urllib``: a hook's environment may carry
    proxy settings, and this request must never leave the unit.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", HEALTH_PATH)
        response = connection.getresponse()
        body = response.read()
        if response.status != http.HTTPStatus.OK:
            return None
        data: object = json.loads(body)
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        connection.close()
    if not isinstance(data, dict):
        return None
    # Not mutated: cast is for the type checker and does nothing at run time.
    report = cast("dict[str, object]", data)  # pragma: no mutate
    mode, start_id = report.get("mode"), report.get("start_id")
    if not isinstance(mode, str) or not isinstance(start_id, str):
        return None
    return Health(mode=mode, start_id=start_id)
