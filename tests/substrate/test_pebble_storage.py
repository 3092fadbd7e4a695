"""The posts storage of the Kubernetes charm, against a real Pebble in an emulated pod.

The pod's ``posts`` storage is a directory of the unit, not of the pod, like
a PersistentVolume: a reschedule brings a new pod (new root, new Pebble, new
charm container) with the same storage mounted where the metadata says.
Posts are added with the charm's ``add-post`` action, dispatched as Juju
dispatches an action; everything else is observed through Pebble and the
blog's own pages inside the pod's network.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from nocloud import pebble_pod
from nocloud.pebble_pod import Unit
from tests.substrate.k8s_unit import K8sUnit
from tests.substrate.test_pebble import PEBBLE_READY, assert_serving, deploy, observe
from workload import MODE_FILE, PORT, POSTS_DIR


@pytest.fixture
def unit(pebble: Path, tmp_path: Path) -> Iterator[Unit]:
    with K8sUnit(tmp_path, pebble, {"mode": "test"}) as the_unit:
        yield the_unit


def front_page(unit: Unit) -> str:
    """The blog's front page, read inside the pod's network, once it shows."""
    workload = unit.pod.workload
    assert workload is not None
    return pebble_pod.wait_for(lambda: workload.fetch(PORT, "/"), "the front page")


def add_post(unit: Unit, title: str, body: str = "") -> pebble_pod.ActionResult:
    """Run ``add-post`` as ``juju run`` would; what it reported."""
    _, result = unit.run_action("add-post", {"title": title, "body": body})
    return result


def test_a_post_added_by_the_action_survives_a_reschedule_with_one_start(unit: Unit):
    deploy(unit, "production")
    added = add_post(unit, "Before the reschedule", "Kept by the storage.")
    assert added.failed is None
    assert added.results == {"file": f"{POSTS_DIR}/before-the-reschedule.txt"}
    assert "<h2>Before the reschedule</h2>" in front_page(unit)

    new = unit.reschedule()
    for hook in ("upgrade-charm", "config-changed", "start"):
        unit.run(hook)
    new.start_workload()
    unit.run(PEBBLE_READY)
    unit.run("update-status")

    after = observe(new)
    assert (after.starts, after.stops) == (1, 0)
    assert_serving(unit, after, "production")
    assert "<h2>Before the reschedule</h2>" in front_page(unit)
    stored = unit.storage_dir("posts") / "before-the-reschedule.txt"
    assert stored.read_text() == "Before the reschedule\nKept by the storage.\n"
    assert (stored.stat().st_uid, stored.stat().st_mode & 0o777) == (0, 0o644)


def test_the_action_never_replaces_a_post_and_refuses_bad_input(unit: Unit):
    deploy(unit, "production")
    assert add_post(unit, "News", "first").failed is None

    again = add_post(unit, "news!", "second")
    too_long = add_post(unit, "x" * 300)
    escaping = add_post(unit, "../../etc/passwd", "root::0:0")

    assert again.failed == "a post named news.txt exists: choose another title"
    assert too_long.failed == "the title has 300 characters, at most 120: nothing was written"
    assert escaping.failed is None
    assert escaping.results == {"file": f"{POSTS_DIR}/etc-passwd.txt"}
    storage = unit.storage_dir("posts")
    assert sorted(path.name for path in storage.iterdir()) == ["etc-passwd.txt", "news.txt"]
    assert (storage / "news.txt").read_text() == "News\nfirst\n"
    assert unit.pod.file("/etc/passwd").read_text().count("root::0:0") == 0


def test_owner_and_permission_drift_is_repaired_without_a_start(unit: Unit):
    before = deploy(unit, "production")
    mode_file = unit.pod.file(MODE_FILE)
    mode_file.chmod(0o600)
    os.chown(mode_file, 65534, 65534)

    unit.run("update-status")

    info = mode_file.stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (0, 0, 0o644)
    assert observe(unit.pod) == before


def test_a_start_that_fails_unexplained_shows_the_services_last_line(unit: Unit):
    """A broken image: the workload's Python exits before the blog runs a line."""
    unit.juju.set_config(mode="test")
    workload = unit.pod.start_workload()
    site = unit.pod.file("/etc/python3.11/sitecustomize.py")
    site.parent.mkdir(parents=True, exist_ok=True)
    site.write_text("print('loading the image')\nraise SystemExit('the image is broken')\n")
    assert workload.running

    unit.run(PEBBLE_READY)

    assert unit.juju.unit_status == (
        "blocked",
        "ExampleBlog cannot serve: it exited with status 1: SystemExit: the image is broken "
        "(see `pebble logs example-blog`)",
    )
    assert observe(unit.pod).current == "inactive"
