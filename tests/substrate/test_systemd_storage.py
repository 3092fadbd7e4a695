"""The posts storage of the machine charm, on a real systemd booted in a container.

Juju's ``rootfs`` storage, the default on LXD, is a directory under
``/var/lib/juju/storage`` bind-mounted at the storage's location. Juju lists
that mount in ``/etc/fstab`` only since late 2025 (juju#21304): before, its
agent mounted it again after a reboot, once the blog may have started. Both
are emulated here with the same bind mount, so the unit is proven against
each: the blog reads the storage and cannot write it, its posts survive a
reboot with no start added, and a mount that appears under a running blog is
served. The charm's own repairs and a revision upgrade are here too.
"""

from __future__ import annotations

import time

import systemd_workload

from tests.substrate.machine_unit import STORAGE_SOURCE, MachineBlog, fetch
from workload import MODE_FILE, POSTS_DIR

# The blog lists its posts afresh within this long (example_blog.LISTING_TTL_SECONDS, and more).
LISTING_WAIT = 10.0
OLD_POSTS = "/var/lib/private/example_blog/posts"
# systemd's name for the mount of the storage's location.
MOUNT_UNIT = "var-lib-example_blog-posts.mount"


def attach_storage(blog: MachineBlog, *, in_fstab: bool) -> None:
    """The storage attached as Juju's rootfs provider attaches it."""
    blog.attach_storage(in_fstab=in_fstab)


def mounted_at(blog: MachineBlog, path: str) -> bool:
    """Whether a file system is mounted exactly at ``path`` on the machine."""
    return blog.container.run(["mountpoint", "-q", path], check=False).returncode == 0


def add_post(blog: MachineBlog, name: str, title: str) -> None:
    """A post written straight into the storage, as the add-post action would."""
    blog.write(f"{STORAGE_SOURCE}/{name}", f"{title}\nOn the storage.\n")


def front_page_shows(title: str, timeout: float = LISTING_WAIT) -> str:
    """Wait for the front page to show ``title``; the page."""
    deadline = time.monotonic() + timeout
    page = None
    while time.monotonic() < deadline:
        page = fetch("/")
        if page is not None and f"<h2>{title}</h2>" in page:
            return page
        time.sleep(0.1)
    raise AssertionError(f"the front page never showed {title!r}:\n{page}")


def deploy_on_storage(blog: MachineBlog, *, in_fstab: bool = True) -> None:
    """Storage attached first, as on a deploy, then install, config-changed, start."""
    attach_storage(blog, in_fstab=in_fstab)
    reports = blog.hooks("production", "install", "config_changed", "start")
    assert reports[-1]["message"] == "serving in production mode", reports


def test_posts_on_the_storage_are_served_and_survive_a_reboot_with_no_start_added(
    blog: MachineBlog,
):
    deploy_on_storage(blog)
    add_post(blog, "first.txt", "Before the reboot")
    front_page_shows("Before the reboot")

    blog.container.reboot()

    assert mounted_at(blog, POSTS_DIR), "fstab did not mount the storage at boot"
    needs = blog.properties("RequiresMountsFor", "Requires", "After")
    # PrivateTmp= adds /var/tmp of its own.
    assert POSTS_DIR in needs["RequiresMountsFor"].split()
    assert MOUNT_UNIT in needs["Requires"].split()
    assert MOUNT_UNIT in needs["After"].split()
    booted = blog.service()
    assert blog.starts() == [booted.invocation_id]
    front_page_shows("Before the reboot")
    reports = blog.hooks("production", "start", "update_status")
    assert reports[-1]["message"] == "serving in production mode"
    assert blog.starts() == [booted.invocation_id]
    assert blog.stops() == 0


def test_a_storage_mounted_after_the_blog_started_is_served_without_a_restart(blog: MachineBlog):
    """An older Juju, no fstab entry: after a reboot its agent mounts the storage again, later."""
    deploy_on_storage(blog, in_fstab=False)
    add_post(blog, "kept.txt", "Kept on the storage")

    blog.container.reboot()
    booted = blog.service()
    assert booted.active
    assert not mounted_at(blog, POSTS_DIR)
    assert "Kept on the storage" not in (fetch("/") or "")

    blog.container.run(["mount", "--bind", STORAGE_SOURCE, POSTS_DIR])

    front_page_shows("Kept on the storage")
    assert blog.service().start == booted.start


def test_the_blog_reads_the_storage_and_cannot_write_it(blog: MachineBlog):
    """Even as root inside the blog's own mount namespace: the storage is read-only there."""
    deploy_on_storage(blog)
    add_post(blog, "readable.txt", "Readable")
    pid = str(blog.service().main_pid)

    enter = ["nsenter", f"--target={pid}", "--mount", "--"]
    read = blog.container.run([*enter, "cat", f"{POSTS_DIR}/readable.txt"], check=False)
    write = blog.container.run([*enter, "touch", f"{POSTS_DIR}/written.txt"], check=False)

    assert read.stdout == "Readable\nOn the storage.\n"
    assert write.returncode != 0
    assert "Read-only file system" in write.stderr
    assert not blog.exists(f"{STORAGE_SOURCE}/written.txt")


def test_a_mode_file_chmodded_by_hand_is_repaired_without_a_start(blog: MachineBlog):
    deploy_on_storage(blog)
    started = blog.service().start
    blog.container.run(["chmod", "0600", MODE_FILE])

    blog.hooks("production", "update_status")

    shown = blog.container.run(["stat", "--format=%a %U %G", MODE_FILE]).stdout.split()
    assert shown == ["644", "root", "root"]
    assert blog.service().start == started
    assert blog.stops() == 0


def old_unit() -> str:
    """The unit of the revisions before the posts storage: a state directory, no mount order."""
    lines = systemd_workload.UNIT_TEXT.splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith("RequiresMountsFor=")]
    at = kept.index("DynamicUser=yes\n") + 1
    return "".join([*kept[:at], "StateDirectory=example_blog\n", *kept[at:]])


def test_an_upgrade_from_a_revision_without_storage_serves_the_storage_and_keeps_old_posts(
    blog: MachineBlog,
):
    """The old unit's state directory holds posts; Juju mounts the new storage through its link.

    The upgrade restarts the blog once, on the storage, with the mount where
    the metadata says; the old posts are still there, and the command of
    docs/posts.md copies them onto the storage.
    """
    deploy_on_storage(blog, in_fstab=False)
    blog.container.run(["umount", POSTS_DIR])
    blog.container.run(["rm", "-r", "/var/lib/example_blog"])
    blog.write(systemd_workload.UNIT_FILE, old_unit())
    blog.container.run(["systemctl", "daemon-reload"])
    blog.container.run(["systemctl", "restart", "example-blog"])
    assert blog.container.run(["readlink", "/var/lib/example_blog"]).stdout.strip() == (
        "private/example_blog"
    )
    blog.container.run(["mkdir", "-p", OLD_POSTS])
    blog.write(f"{OLD_POSTS}/old.txt", "From the old revision\nkept\n")
    blog.container.run(["chmod", "0600", f"{OLD_POSTS}/old.txt"])
    attach_storage(blog, in_fstab=False)
    assert mounted_at(blog, OLD_POSTS), "the mount did not go through the old link"
    add_post(blog, "new.txt", "On the new storage")
    before = len(blog.starts())

    reports = blog.hooks("production", "upgrade_charm", "update_status")

    assert reports[-1]["message"] == "serving in production mode"
    assert len(blog.starts()) == before + 1
    assert blog.container.run(["test", "-L", "/var/lib/example_blog"], check=False).returncode
    assert mounted_at(blog, POSTS_DIR)
    assert not mounted_at(blog, OLD_POSTS)
    page = front_page_shows("On the new storage")
    assert "From the old revision" not in page
    assert blog.read(f"{OLD_POSTS}/old.txt") == "From the old revision\nkept\n"

    copy = "cp --no-clobber --no-preserve=mode,ownership"
    blog.container.run(["sh", "-c", f"{copy} {OLD_POSTS}/*.txt {POSTS_DIR}/"])

    front_page_shows("From the old revision")
    assert blog.read(MODE_FILE) == "production\n"
