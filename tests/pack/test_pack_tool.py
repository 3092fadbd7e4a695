"""tools/pack.py, the user's way to pack, driven with a stand-in for charmcraft.

These need no charmcraft and run everywhere: the stand-in records how it was
called and makes (or fails to make) the file a real pack would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import pack

# Behaves like `charmcraft pack` as far as tools/pack.py can tell: it runs in
# the project directory and leaves NAME_amd64.charm there, unless told not to.
FAKE_CHARMCRAFT = """#!/bin/sh
printf '%s %s\\n' "$(pwd)" "$*" >> "$FAKE_CHARMCRAFT_CALLS"
case "$FAKE_CHARMCRAFT_DOES" in
    fail) echo "fake charmcraft: refusing" >&2; exit 3 ;;
    nothing) exit 0 ;;
esac
name=$(sed -n 's/^name: //p' metadata.yaml)
printf 'charm of %s\\n' "$name" > "${name}_amd64.charm"
"""


@pytest.fixture
def charmcraft(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "bin" / "charmcraft"
    path.parent.mkdir()
    path.write_text(FAKE_CHARMCRAFT)
    path.chmod(0o755)
    monkeypatch.setenv("FAKE_CHARMCRAFT_CALLS", str(tmp_path / "calls"))
    monkeypatch.setenv("FAKE_CHARMCRAFT_DOES", "pack")
    return path


def calls(tmp_path: Path) -> list[str]:
    return (tmp_path / "calls").read_text().splitlines()


def test_packs_both_variants_into_the_build_dir(
    charmcraft: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build = tmp_path / "build"

    assert pack.main(["--charmcraft", str(charmcraft), "--build-dir", str(build)]) == 0

    machine, k8s = build / "example-blog_amd64.charm", build / "example-blog-k8s_amd64.charm"
    assert capsys.readouterr().out.split() == [str(machine), str(k8s)]
    assert machine.read_text() == "charm of example-blog\n"
    assert k8s.read_text() == "charm of example-blog-k8s\n"
    assert calls(tmp_path) == [f"{build / 'machine'} pack", f"{build / 'k8s'} pack"]
    assert (build / "k8s" / "src" / "pebble_workload.py").is_file()
    assert not list((build / "k8s").glob("*.charm"))


def test_destructive_mode_is_passed_through(charmcraft: Path, tmp_path: Path) -> None:
    argv = ["--destructive-mode", "--charmcraft", str(charmcraft), "--build-dir", str(tmp_path)]

    assert pack.main([*argv, "machine"]) == 0

    assert calls(tmp_path) == [f"{tmp_path / 'machine'} pack --destructive-mode"]
    assert not (tmp_path / "k8s").exists()


def test_output_dir_holds_only_this_runs_charms(charmcraft: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "example-blog_old.charm").write_text("stale")
    (out / "example-blog-k8s_old.charm").write_text("not this run's variant")
    argv = ["--charmcraft", str(charmcraft), "--build-dir", str(tmp_path / "build")]

    assert pack.main([*argv, "--output", str(out), "machine"]) == 0

    assert sorted(path.name for path in out.iterdir()) == [
        "example-blog-k8s_old.charm",
        "example-blog_amd64.charm",
    ]


def test_missing_charmcraft_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-charmcraft"

    assert pack.main(["--charmcraft", str(missing), "--build-dir", str(tmp_path)]) == 1

    error = capsys.readouterr().err
    assert f"{str(missing)!r} was not found" in error
    assert "snap install charmcraft --classic" in error


def test_failing_charmcraft_names_the_project_and_status(
    charmcraft: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FAKE_CHARMCRAFT_DOES", "fail")

    assert pack.main(["--charmcraft", str(charmcraft), "--build-dir", str(tmp_path)]) == 1

    error = capsys.readouterr().err
    assert f"in {tmp_path / 'machine'} failed with exit status 3" in error
    assert calls(tmp_path) == [f"{tmp_path / 'machine'} pack"]


def test_charmcraft_that_makes_no_charm_is_an_error(
    charmcraft: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FAKE_CHARMCRAFT_DOES", "nothing")

    assert pack.main(["--charmcraft", str(charmcraft), "--build-dir", str(tmp_path), "k8s"]) == 1

    assert f"left no example-blog-k8s_*.charm in {tmp_path / 'k8s'}" in capsys.readouterr().err


def test_output_inside_a_build_project_is_refused(
    charmcraft: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--charmcraft", str(charmcraft), "--build-dir", str(tmp_path)]

    assert pack.main([*argv, "--output", str(tmp_path / "machine" / "out")]) == 1

    assert "is inside machine's build directory" in capsys.readouterr().err
    assert not (tmp_path / "calls").exists()


def test_unknown_variant_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        pack.main(["windows"])

    assert exit_.value.code == 2
    assert "unknown variant 'windows'" in capsys.readouterr().err


def test_log_file_tail_is_part_of_the_error(charmcraft: Path, tmp_path: Path) -> None:
    log = tmp_path / "pack.log"
    command = [str(charmcraft), "pack"]

    with pytest.raises(pack.PackError, match=r"(?s)exit status 3.*\| fake charmcraft: refusing"):
        pack.run_charmcraft(
            command,
            tmp_path,
            env={"FAKE_CHARMCRAFT_DOES": "fail", "FAKE_CHARMCRAFT_CALLS": str(tmp_path / "c")},
            log=log,
        )


def test_user_path_carries_no_test_host_workaround() -> None:
    # The os-release bind mount and the dropped build-snaps belong to the test
    # support for a Debian CI host (tests/pack/support.py), never to users.
    source = Path(pack.__file__).read_text()
    for word in ("unshare", "os-release", "mount --bind", "build-snaps"):
        assert word not in source
