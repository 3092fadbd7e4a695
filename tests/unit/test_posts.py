"""The posts storage and the ``add-post`` action, on both charms and the shared one.

Posts are the operator's data in Juju storage: production mode needs the
storage attached and says so when it is not, touching nothing; the action is
the one way the charm writes there, and no parameter can make it write
anywhere else or over another post.
"""

from __future__ import annotations

import dataclasses
import re
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ops import testing

import example_blog
from example_blog import MAX_POST_BYTES, POST_SUFFIX
from new_post import MAX_STEM_CHARS, MAX_TITLE_CHARS, NewPost, file_stem
from tests.support.charm_run import CharmRun, posts_storage, with_mode, without_posts
from tests.support.workload_fake import SharedCharmRun
from workload import CODE_FILE, FILE_MODE, MODE_FILE, POSTS_DIR

NO_STORAGE = testing.WaitingStatus(
    "production mode waits for the posts storage (see `juju storage`), or set mode=test"
)


def no_storage(run: CharmRun) -> testing.WaitingStatus:
    """The status of a unit in production mode with no posts storage."""
    del run  # the same on both substrates
    return NO_STORAGE


def test_production_without_the_storage_touches_nothing_and_says_what_to_do(
    each_charm: CharmRun,
):
    """A unit refreshed from a revision without the storage, or mid-teardown."""
    state = without_posts(each_charm.fresh("production"))

    for event in (each_charm.ctx.on.install(), each_charm.ctx.on.config_changed()):
        state = each_charm.run(event, state)

    assert state.unit_status == no_storage(each_charm)
    assert (each_charm.starts, each_charm.stops) == (0, 0)
    assert not each_charm.file(MODE_FILE).exists()
    assert not each_charm.file(CODE_FILE).exists()


def test_the_storage_attached_after_install_starts_production_once(charm: SharedCharmRun):
    """On a deploy storage-attached runs first; on a refresh that adds it, it comes last."""
    state = without_posts(charm.fresh("production"))
    state = charm.run(charm.ctx.on.install(), state)
    state = dataclasses.replace(state, storages={posts_storage()})

    state = charm.run(charm.ctx.on.storage_attached(posts_storage()), state)
    state = charm.run(charm.ctx.on.update_status(), state)

    assert (charm.starts, charm.stops) == (1, 0)
    assert state.unit_status == testing.ActiveStatus("serving in production mode")


def test_test_mode_needs_no_storage(each_charm: CharmRun):
    state = without_posts(each_charm.deploy("test"))

    state = each_charm.run(each_charm.ctx.on.update_status(), state)

    assert state.unit_status == testing.ActiveStatus("serving in test mode")


def test_a_running_blog_is_left_alone_when_its_storage_is_gone(charm: SharedCharmRun):
    """Nothing is touched: the next hook with the storage back finds it as it was."""
    state = charm.deploy("test")

    state = charm.run(charm.ctx.on.config_changed(), without_posts(with_mode(state, "production")))

    assert (charm.starts, charm.stops) == (1, 0)
    assert charm.blog.serving == "test"
    assert state.unit_status == no_storage(charm)


# --- the add-post action ------------------------------------------------------------------------


def add_post(run: CharmRun, state: testing.State, **params: str) -> testing.ActionFailed | dict:
    """Run ``add-post``; its results, or the failure Juju would report."""
    try:
        run.ctx.run(run.ctx.on.action("add-post", params=params), state)
    except testing.ActionFailed as failure:
        return failure
    return run.ctx.action_results or {}


def posts(run: CharmRun) -> dict[str, str]:
    """Every file in the posts directory, by name."""
    directory = run.file(POSTS_DIR)
    return {path.name: path.read_text() for path in sorted(directory.iterdir())}


def test_add_post_writes_one_world_readable_post_named_after_its_title(each_charm: CharmRun):
    state = each_charm.deploy("production")
    each_charm.file(POSTS_DIR).mkdir(parents=True, exist_ok=True)

    results = add_post(each_charm, state, title="Hello, Wörld!", body="First post.\n\n")

    assert results == {"file": f"{POSTS_DIR}/hello-world.txt"}
    assert posts(each_charm) == {"hello-world.txt": "Hello, Wörld!\nFirst post.\n"}
    permissions = stat.S_IMODE(each_charm.file(f"{POSTS_DIR}/hello-world.txt").stat().st_mode)
    assert permissions == FILE_MODE
    assert (each_charm.starts, each_charm.stops) == (1, 0)


def test_add_post_never_overwrites_a_post(each_charm: CharmRun):
    state = each_charm.deploy("production")
    each_charm.file(POSTS_DIR).mkdir(parents=True, exist_ok=True)
    each_charm.file(f"{POSTS_DIR}/news.txt").write_text("News\nkept\n")

    failure = add_post(each_charm, state, title="NEWS", body="replaced?")

    assert isinstance(failure, testing.ActionFailed)
    assert failure.message == "a post named news.txt exists: choose another title"
    assert posts(each_charm) == {"news.txt": "News\nkept\n"}


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"title": ""}, "the title is empty"),
        ({"title": "   "}, "the title is empty"),
        ({"title": "x" * 300}, f"the title has 300 characters, at most {MAX_TITLE_CHARS}"),
        ({"title": "two\nlines"}, "the title must be one line of printable text"),
        ({"title": "nul\0"}, "the title must be one line of printable text"),
        ({"title": "ok", "body": "a\0b"}, "the body holds a NUL character"),
        (
            {"title": "ok", "body": "é" * MAX_POST_BYTES},
            f"the post is {2 * MAX_POST_BYTES + 4} bytes in UTF-8, at most {MAX_POST_BYTES}",
        ),
        ({"title": "ok", "body": "\ud800"}, "the post is not valid Unicode text"),
    ],
    ids=[
        "empty",
        "blank",
        "300-chars",
        "newline",
        "nul-title",
        "nul-body",
        "too-big",
        "surrogate",
    ],
)
def test_add_post_refuses_what_cannot_be_a_post_and_writes_nothing(
    charm: SharedCharmRun, params: dict[str, str], reason: str
):
    state = charm.deploy("production")
    charm.file(POSTS_DIR).mkdir(parents=True)

    failure = add_post(charm, state, **params)

    assert isinstance(failure, testing.ActionFailed)
    assert failure.message == f"{reason}: nothing was written"
    assert posts(charm) == {}


@pytest.mark.parametrize("title", ["../../etc/passwd", "/etc/passwd", "..", ".", "a/../../b"])
def test_no_title_writes_outside_the_posts_directory(charm: SharedCharmRun, title: str):
    state = charm.deploy("production")
    charm.file(POSTS_DIR).mkdir(parents=True)
    before = sorted(path for path in charm.root.rglob("*") if path.is_file())

    results = add_post(charm, state, title=title)

    assert isinstance(results, dict)
    [written] = posts(charm)
    assert results == {"file": f"{POSTS_DIR}/{written}"}
    after = sorted(path for path in charm.root.rglob("*") if path.is_file())
    assert sorted(set(after) - set(before)) == [charm.file(f"{POSTS_DIR}/{written}")]


def test_add_post_without_the_storage_fails_and_writes_nothing(charm: SharedCharmRun):
    state = without_posts(charm.deploy("test"))

    failure = add_post(charm, state, title="Hello")

    assert isinstance(failure, testing.ActionFailed)
    assert failure.message == "no posts storage is attached to this unit: nothing was written"
    assert not charm.file(POSTS_DIR).exists()


def test_the_largest_post_the_action_takes_is_shown_whole(tmp_path: Path):
    """Written as the action writes it, read as the blog reads it: no truncation marker."""
    body = "b" * (MAX_POST_BYTES - len("t\n\n"))
    post = NewPost(title="t", body=body)
    posts_dir = tmp_path / "posts"
    posts_dir.mkdir()
    (posts_dir / post.file_name).write_text(post.text)
    (tmp_path / "mode").write_text("production\n")

    [shown] = example_blog.start_blog(tmp_path / "mode", posts_dir).posts()

    assert len(post.text.encode()) == MAX_POST_BYTES
    assert (shown.title, shown.body, shown.truncated) == ("t", body, False)


SAFE_NAME = re.compile(rf"[a-z0-9]+(-[a-z0-9]+)*{re.escape(POST_SUFFIX)}")


@given(st.text(min_size=1, max_size=MAX_TITLE_CHARS))
def test_every_title_gets_a_plain_name_of_bounded_length(title: str):
    """Whatever the title: letters, digits and single dashes, never a path or a hidden file."""
    name = f"{file_stem(title)}{POST_SUFFIX}"

    assert SAFE_NAME.fullmatch(name), name
    assert len(name) <= MAX_STEM_CHARS + len(POST_SUFFIX)


def test_titles_without_ascii_letters_are_named_by_their_digest():
    assert file_stem("日本語") != file_stem("中文")
    assert file_stem("日本語").startswith("post-")
    assert file_stem("Crème brûlée") == "creme-brulee"
