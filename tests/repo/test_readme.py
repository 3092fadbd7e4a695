"""The README stays one screen for users, and its commands are the ones the tests run.

Each section has a byte budget, so that a later addition (storage, the support
matrix) must fit where it belongs or move detail out to ``docs/`` and
``CONTRIBUTING.md``, and the whole file stays within 8 KiB.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.integration import readme_commands

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
LIMIT = 8192
# Where the tests deploy from, instead of the user's ./build/ file.
CHARM = "/srv/charms/x.charm"
# Every section of the README and its budget in bytes (the title and intro first).
BUDGETS = {
    "": 500,
    "What it shows": 1550,
    "Quick start": 650,
    "Deploy": 1300,
    "Configure": 700,
    "Status": 1200,
    "Posts": 900,
    "Support": 900,
    "More": 400,
}


def sections() -> dict[str, str]:
    """The README split at its ``## `` headings: title to text (the intro under "")."""
    parts = re.split(r"\n(?=## )", README.read_text(encoding="utf-8"))
    found = {"": parts[0]}
    for part in parts[1:]:
        found[part.splitlines()[0].removeprefix("## ")] = part
    return found


def test_the_readme_fits_in_8_kib():
    size = len(README.read_bytes())
    assert size <= LIMIT, (
        f"README.md is {size} bytes, over {LIMIT}: move detail to docs/ or CONTRIBUTING.md"
    )


def test_every_section_is_budgeted_and_within_its_budget():
    assert sum(BUDGETS.values()) <= LIMIT
    found = sections()
    assert list(found) == list(BUDGETS), "README sections differ from the budgets here"
    over = {
        title: len(text.encode())
        for title, text in found.items()
        if len(text.encode()) > BUDGETS[title]
    }
    assert not over, f"sections over budget (bytes): {over}; budgets: {BUDGETS}"


def test_every_relative_link_leads_to_a_file():
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\((?!https?:)([^)#]+)(?:#[^)]*)?\)", text)
    assert targets
    missing = [target for target in targets if not (ROOT / target).exists()]
    assert not missing


def test_no_command_the_readme_gives_runs_a_program_under_tests():
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks
    lines = [line for block in blocks for line in block.splitlines()]
    assert not [line for line in lines if re.search(r"(^|\s)(\./)?tests[/.]", line)]


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("machine", ["deploy", CHARM]),
        (
            "k8s",
            ["deploy", CHARM, "--resource", "blog-image=ubuntu/python:3.12-24.04_stable"],
        ),
    ],
)
def test_the_integration_tier_deploys_with_the_readmes_command(variant: str, expected: list[str]):
    assert readme_commands.deploy_command(variant, CHARM) == expected


@pytest.mark.parametrize("application", ["example-blog", "example-blog-k8s"])
def test_the_integration_tier_configures_with_the_readmes_command(application: str):
    assert readme_commands.config_command(application) == [
        "config",
        application,
        "mode=production",
    ]


def test_a_readme_without_the_deploy_command_fails_the_integration_tier_loudly():
    readme = README.read_text(encoding="utf-8").replace("example-blog-k8s_amd64.charm", "x")
    with pytest.raises(
        LookupError, match=re.escape("has 0 `juju deploy ./build/example-blog-k8s")
    ):
        readme_commands.deploy_command("k8s", CHARM, readme)


@pytest.mark.parametrize("unit", ["example-blog/0", "example-blog-k8s/0"])
def test_the_integration_tier_adds_a_post_with_the_readmes_command(unit: str):
    command = readme_commands.add_post_command(unit)

    assert command[:3] == ["run", unit, "add-post"]
    assert readme_commands.action_params(command) == {
        "title": "Hello",
        "body": "The first post.",
    }


@pytest.mark.parametrize("unit", ["example-blog/0", "example-blog-k8s/0"])
def test_the_readmes_add_post_values_reach_the_action_as_written(unit: str):
    """``juju run`` reads each value as YAML: ``title=yes`` would be a boolean, and fail."""
    params = readme_commands.action_params(readme_commands.add_post_command(unit))

    assert {key: yaml.safe_load(value) for key, value in params.items()} == params


def test_a_readme_without_the_add_post_command_fails_the_integration_tier_loudly():
    readme = README.read_text(encoding="utf-8").replace("juju run example-blog-k8s/0", "juju")
    with pytest.raises(
        LookupError, match=re.escape("Posts section has 0 `juju run example-blog-k8s/0 add-post`")
    ):
        readme_commands.add_post_command("example-blog-k8s/0", readme)


def test_a_readme_without_a_posts_section_fails_the_integration_tier_loudly():
    readme = README.read_text(encoding="utf-8").replace("\n## Posts\n", "\n## Writing\n")
    with pytest.raises(LookupError, match=re.escape("README.md has no '## Posts' section")):
        readme_commands.add_post_command("example-blog/0", readme)


def test_an_add_post_command_with_a_bare_word_is_not_taken_for_parameters():
    with pytest.raises(LookupError, match="key=value"):
        readme_commands.action_params(["run", "example-blog/0", "add-post", "Hello"])
