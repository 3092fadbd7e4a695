"""The ``juju`` jubilant runs: every call recorded, and cut off past its deadline.

jubilant's ``deploy``, ``refresh`` and ``cli`` take no timeout, so the driver hands
jubilant this wrapper as its CLI binary (``jubilant.Juju(cli_binary=...)``): each call
is appended to a JSON-lines record (checked offline against Juju's own CLI tables,
``tests/repo/test_jubilant_cli.py``) and killed after ``timeout`` seconds, exiting 124
as timeout(1) does. Run as ``python bounded_cli.py RECORD TIMEOUT JUJU -- ARGS...``.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

TIMED_OUT = 124


def write_cli_binary(directory: Path, *, juju: str, timeout: float, record: Path) -> Path:
    """An executable ``juju`` in ``directory`` that runs the real one through this module.

    Where the real juju is the snap, put ``directory`` under ``~/snap/juju/common``:
    jubilant then sees ``/snap/`` in the path and writes its temporary files where the
    confined snap can read them, as it would for the snap itself.
    """
    directory.mkdir(parents=True, exist_ok=True)
    binary = directory / "juju"
    words = [sys.executable, str(Path(__file__).resolve()), str(record), str(timeout), juju]
    binary.write_text(f'#!/bin/sh\nexec {shlex.join(words)} -- "$@"\n', encoding="utf-8")
    binary.chmod(0o755)
    return binary


def main(argv: list[str]) -> int:
    """Record the call, run it within the deadline, pass its output and exit code on."""
    record, timeout, juju, separator, *args = argv
    assert separator == "--", argv
    with Path(record).open("a", encoding="utf-8") as file:
        file.write(json.dumps(args) + "\n")
    try:
        return subprocess.run([juju, *args], timeout=float(timeout), check=False).returncode
    except subprocess.TimeoutExpired:
        sys.stderr.write(f"juju {shlex.join(args)}: cut off after {timeout} s\n")
        return TIMED_OUT


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
