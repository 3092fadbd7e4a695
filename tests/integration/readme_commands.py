"""The ``juju`` commands the README tells a user to type, as the integration tier runs them.

The README's Deploy, Configure and Posts sections are the user's instructions.
The integration tests deploy, configure and add a post with these very commands (only the
packed charm's path and the model differ), so that instructions that no
longer work fail a test instead of a user. Plain text parsing, no Juju: the
offline ``tests/repo`` tier checks the parse on every change.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Final

README: Final = Path(__file__).resolve().parents[2] / "README.md"
# The packed charm's file in a user's clone, as the README's deploy commands name it.
CHARM_FILES: Final = {
    "machine": "./build/example-blog_amd64.charm",
    "k8s": "./build/example-blog-k8s_amd64.charm",
}


def section(title: str, readme: str | None = None) -> str:
    """The text of the README's ``## title`` section, up to the next one."""
    text = README.read_text(encoding="utf-8") if readme is None else readme
    parts = text.split(f"\n## {title}\n", 1)
    if len(parts) != 2:
        raise LookupError(f"README.md has no '## {title}' section")
    return parts[1].split("\n## ", 1)[0]


def juju_commands(title: str, readme: str | None = None) -> list[list[str]]:
    """Every ``juju`` command in the section's ``sh`` blocks, split as a shell would."""
    commands: list[list[str]] = []
    for block in re.findall(r"```sh\n(.*?)```", section(title, readme), re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["juju"]:
                commands.append(words)
    return commands


def deploy_command(variant: str, charm: Path | str, readme: str | None = None) -> list[str]:
    """The README's ``juju deploy`` of a variant, deploying ``charm`` instead of the user's file.

    Returned without the leading ``juju``, as the tier's ``juju()`` helper takes it.
    """
    wanted = CHARM_FILES[variant]
    found = [words for words in juju_commands("Deploy", readme) if wanted in words[1:3]]
    if len(found) != 1:
        raise LookupError(f"README.md's Deploy section has {len(found)} `juju deploy {wanted}`")
    words = found[0]
    if words[1] != "deploy":
        raise LookupError(f"README.md deploys {wanted} with `juju {words[1]}`")
    return ["deploy", str(charm), *words[3:]]


def config_command(application: str, readme: str | None = None) -> list[str]:
    """The README's ``juju config APPLICATION ...``, without the leading ``juju``."""
    found = [
        words[1:]
        for words in juju_commands("Configure", readme)
        if words[1:3] == ["config", application]
    ]
    if len(found) != 1:
        raise LookupError(
            f"README.md's Configure section has {len(found)} `juju config {application}`"
        )
    return found[0]


def add_post_command(unit: str, readme: str | None = None) -> list[str]:
    """The README's ``juju run UNIT add-post ...`` for ``unit``, without the leading ``juju``."""
    found = [
        words[1:]
        for words in juju_commands("Posts", readme)
        if words[1:4] == ["run", unit, "add-post"]
    ]
    if len(found) != 1:
        raise LookupError(f"README.md's Posts section has {len(found)} `juju run {unit} add-post`")
    return found[0]


def action_params(command: list[str]) -> dict[str, str]:
    """The ``key=value`` parameters of a ``juju run UNIT ACTION key=value...`` command.

    Juju reads each value as YAML; the README's values are plain words, which
    YAML reads as the same strings.
    """
    pairs = [word.partition("=") for word in command[3:]]
    if not all(key and equals for key, equals, _ in pairs):
        raise LookupError(f"not all of `juju {shlex.join(command)}` is key=value parameters")
    return {key: value for key, _, value in pairs}
