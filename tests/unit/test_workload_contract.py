"""The Workload contract, held against the fake and both shipped workloads alike.

The shared rules are tested on ``FakeWorkload``. Those tests say something
about the shipped charms only while the fake keeps the contract the reconcile
relies on, the one ``SystemdWorkload`` and ``PebbleWorkload`` keep. So each
test here runs the same steps on all three, each behind its service manager's
fake (``tests/support``): the fake blog that reads its mode file as it starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pebble_workload import CONTAINER_NAME, PebbleWorkload
from systemd_workload import SystemdWorkload

import workload
from tests.support.charm_run import PORT_TAKEN, FakeBlog, fake_blog
from tests.support.service_managers import k8s_charm_run, machine_charm_run
from tests.support.workload_fake import FakeWorkload
from workload import (
    FILE_MODE,
    MODE_FILE,
    Drift,
    FileMetadata,
    ManagedFile,
    StartFailedError,
    Workload,
)


@dataclass
class Seam:
    """One workload, and the blog behind its service manager."""

    workload: Workload
    blog: FakeBlog

    def define(self, mode: str) -> None:
        """Apply the service definition and write the mode file, as the reconcile does."""
        self.workload.service_definition().apply()
        ManagedFile(self.workload, MODE_FILE, f"{mode}\n").apply()


@pytest.fixture(params=["fake", "systemd", "pebble"])
def seam(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Seam]:
    """Each workload in turn, its files under ``tmp_path``."""
    if request.param == "fake":
        blog = fake_blog(tmp_path, monkeypatch)
        yield Seam(FakeWorkload(tmp_path, blog), blog)
    elif request.param == "systemd":
        yield Seam(SystemdWorkload(), machine_charm_run(tmp_path, monkeypatch).blog)
    else:
        # A container exists only inside a hook: the steps run inside one the charm ignores.
        k8s = k8s_charm_run(tmp_path, monkeypatch)
        with k8s.ctx(k8s.ctx.on.leader_elected(), k8s.fresh("test")) as hook:
            container = hook.charm.unit.get_container(CONTAINER_NAME)
            yield Seam(PebbleWorkload(container), k8s.blog)


def test_the_service_definition_is_current_once_applied(seam: Seam):
    assert seam.workload.service_definition().drift() is Drift.CONTENT

    seam.workload.service_definition().apply()

    assert seam.workload.service_definition().drift() is Drift.NONE


def test_a_start_serves_the_mode_file_and_a_stop_ends_it(seam: Seam):
    seam.define("production")
    assert not seam.workload.is_running()

    seam.workload.start()

    assert seam.workload.is_running()
    assert seam.blog.serving == "production"

    seam.workload.stop()

    assert not seam.workload.is_running()
    assert seam.blog.serving is None


@pytest.mark.parametrize("cause", ["port-taken", "bad-mode-file"])
def test_a_start_the_blog_does_not_survive_raises_its_reason_and_leaves_it_stopped(
    seam: Seam, cause: str
):
    seam.define("staging" if cause == "bad-mode-file" else "test")
    seam.blog.port_taken = cause == "port-taken"
    reason = PORT_TAKEN if cause == "port-taken" else "holds 'staging'; expected one of"

    with pytest.raises(StartFailedError, match=re.escape(reason)):
        seam.workload.start()

    assert not seam.workload.is_running()
    assert seam.blog.serving is None


def test_a_written_file_reports_the_owner_and_permissions_it_was_written_with(seam: Seam):
    seam.define("test")

    assert seam.workload.metadata(MODE_FILE) == FileMetadata(
        workload.FILE_OWNER, workload.FILE_OWNER, FILE_MODE
    )


def test_a_missing_file_has_no_metadata(seam: Seam):
    with pytest.raises(FileNotFoundError):
        seam.workload.metadata("/etc/example_blog/none")


def test_a_created_file_is_whole_and_never_replaces_one(seam: Seam):
    seam.define("test")
    location = "/etc/example_blog/created"

    seam.workload.create_file(location, "first\n")
    with pytest.raises(FileExistsError):
        seam.workload.create_file(location, "second\n")

    assert seam.workload.path(location).read_text() == "first\n"
    assert seam.workload.metadata(location).permissions == FILE_MODE
