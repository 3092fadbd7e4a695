"""Both charms packed once per test session, and unpacked copies of them to inspect.

Packing needs what ``tests/pack/support.py`` needs (root, a private mount
namespace, Debian's python3-apt and python3-venv, Python 3.12, uv); without
it every test that needs a packed charm is skipped with the reason.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pack import artifact, support
from tests.pack.host import find_python

_pack_seconds: dict[str, float] = {}


@pytest.fixture(scope="session")
def pack_work() -> Iterator[Path]:
    """A directory for the session's builds, charms and unpacked copies, removed at the end."""
    with tempfile.TemporaryDirectory(prefix="example-blog-pack-") as work:
        yield Path(work)


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A directory for one test's copies of an artifact, removed when the test ends."""
    with tempfile.TemporaryDirectory(prefix="example-blog-scratch-") as work:
        yield Path(work)


@pytest.fixture(scope="session")
def packed(pack_work: Path) -> dict[str, support.PackedCharm]:
    """Each variant packed here with charmcraft, once per session."""
    if reason := support.unmet_need():
        pytest.skip(f"cannot pack on this host: {reason}")
    charms = support.pack_here(tuple(artifact.VARIANTS), pack_work)
    _pack_seconds.update({variant: charm.seconds for variant, charm in charms.items()})
    return charms


@pytest.fixture(scope="session")
def unpacked(packed: dict[str, support.PackedCharm], pack_work: Path) -> dict[str, Path]:
    """Each packed charm extracted (modes kept), to be read and never changed."""
    return {
        variant: artifact.unpack(charm.path, pack_work / "unpacked" / variant)
        for variant, charm in packed.items()
    }


@pytest.fixture(scope="session")
def artifact_python(unpacked: dict[str, Path]) -> Path:
    """The host's interpreter of the Python version the packed venvs were built for."""
    versions = {artifact.venv_python_version(root) for root in unpacked.values()}
    assert len(versions) == 1, f"the charms' venvs disagree on their Python: {versions}"
    (version,) = versions
    assert version is not None, "a packed venv has no pyvenv.cfg version_info"
    python = find_python(version)
    if python is None:
        pytest.skip(f"no Python {version} on this host to run the packed venv with")
    return python


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report how long charmcraft took to pack each variant in this session."""
    if _pack_seconds:
        times = ", ".join(
            f"{variant} {seconds:.1f} s" for variant, seconds in _pack_seconds.items()
        )
        total = sum(_pack_seconds.values())
        terminalreporter.write_line(f"charmcraft pack: {times} (both: {total:.1f} s)")
