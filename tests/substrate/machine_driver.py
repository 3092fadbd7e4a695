"""Run machine-charm hooks *inside* the container, against its real files and systemd.

Usage (inside the container, from the project directory, with ``src``,
``machine/src`` and the project root on ``PYTHONPATH``)::

    python -m tests.substrate.machine_driver [--design NAME] MODE EVENT[:MODE] [EVENT[:MODE]...]

Juju is emulated by ``ops.testing``: each EVENT (``install``,
``config_changed``, ``start``, ``upgrade_charm``, ``update_status``,
``remove``) runs as one hook with the ``mode`` option set to MODE, or to
the mode written after it (``config_changed:production``), so that one call
can change the mode several times in quick succession. ``add-post=TITLE=BODY``
runs the ``add-post`` action with those parameters instead (its result is
reported as the status: ``failed`` and the message, or ``completed`` and
the file). ``--design`` runs one of
the tempting alternatives of ``teaching/designs.py`` instead of the
machine charm. Nothing
else is faked: ``ops.testing`` leaves the filesystem and subprocesses alone,
so the charm reads and writes the container's real ``/etc/example_blog/mode``
and unit file and calls the real ``systemctl``. Each hook starts from a fresh
Juju state because the charm keeps none between hooks.

Prints one JSON object per hook (``event``, ``status``, ``message``); a hook
that raises exits with status 1 and the charm's traceback on stderr.
"""

from __future__ import annotations

import json
import sys

import ops
from ops import testing

from tests.variants import action_definitions, charm_class, config_options, metadata

EVENTS = ("install", "config_changed", "start", "upgrade_charm", "update_status", "remove")


ACTION_PREFIX = "add-post="


def run_add_post(ctx: testing.Context[ops.CharmBase], mode: str, spec: str) -> dict[str, str]:
    """Run ``add-post`` with ``TITLE=BODY``; what Juju would report of it."""
    title, _, body = spec.partition("=")
    state = testing.State(config={"mode": mode}, storages={testing.Storage("posts", index=0)})
    try:
        ctx.run(ctx.on.action("add-post", params={"title": title, "body": body}), state)
    except testing.ActionFailed as e:
        return {"event": "add-post", "status": "failed", "message": e.message}
    return {"event": "add-post", "status": "completed", "message": str(ctx.action_results)}


def run_hooks(mode: str, events: list[str], design: str | None = None) -> list[dict[str, str]]:
    """Run ``events`` (``EVENT[:MODE]``) in order; the unit status after each."""
    charm = charm_class("machine")
    if design is not None:
        # Looked up only when asked for: the teaching material may be gone (rm -r teaching).
        import importlib

        designs = importlib.import_module("teaching.designs")
        charm = designs.charm_for("machine", design)
    ctx = testing.Context(
        charm, meta=metadata("machine"), config=config_options(), actions=action_definitions()
    )
    reports: list[dict[str, str]] = []
    for spec in events:
        if spec.startswith(ACTION_PREFIX):
            reports.append(run_add_post(ctx, mode, spec.removeprefix(ACTION_PREFIX)))
            continue
        event, _, event_mode = spec.partition(":")
        if event not in EVENTS:
            raise SystemExit(f"unknown event {event!r}; expected one of {', '.join(EVENTS)}")
        config = {"mode": event_mode or mode}
        # The posts storage is attached, as Juju attaches it before install.
        storages = {testing.Storage("posts", index=0)}
        state = ctx.run(getattr(ctx.on, event)(), testing.State(config=config, storages=storages))
        reports.append(
            {
                "event": event,
                "status": state.unit_status.name,
                "message": state.unit_status.message,
            }
        )
    return reports


def main(argv: list[str]) -> int:
    """Entry point: ``[--design NAME] MODE EVENT[:MODE] [EVENT[:MODE]...]``."""
    design = None
    if argv[:1] == ["--design"]:
        design, argv = argv[1], argv[2:]
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    for report in run_hooks(argv[0], argv[1:], design):
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
