"""The Juju side of a hook, emulated: hook tools and what they report to the controller.

ops talks to Juju only through environment variables and hook tools
(``config-get``, ``status-set``, ...), which it runs as commands on PATH. This
module is both the set of those tools and the controller state they share:

* :class:`HookTools` is the test's handle: it holds the model's config, writes
  the tools into a directory and reads back what the charm reported (unit
  status, opened ports, workload version, log lines).
* The tools every hook calls (``config-get``, ``is-leader``, ``status-set``,
  ``juju-log``) are POSIX shell scripts using only shell builtins, each on a
  file of its own in the controller's directory. Juju's own tools are one
  compiled binary; an interpreter starting for each call would make every
  hook's cost mostly the emulation's, not the charm's.
* The rest, called only when a hook changes something, are this module run
  as a tool (``main``): it answers one call from the state file named by
  ``NOCLOUD_HOOK_STATE``, with ``python -I -S`` (standard library and
  ``nocloud.settings`` only).

Only the tools that ops calls for a charm that sets its status, version and
opened ports exist (and ``state-get``, ``state-set``, ``state-delete``, for a
charm that keeps its state with the controller); a call of any other fails
the hook loudly (command not found). No relation, storage, secret, action or
network tool exists.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nocloud.settings import (
    JUJU_VERSION,
    LOG_ENV,
    MODEL_NAME,
    MODEL_UUID,
    STATE_ENV,
    SYSTEM_PATH,
)

# What ops 3.9 calls (found by running a charm) when a hook sets a version or opens a port.
TOOLS = ("application-version-set", "open-port", "opened-ports")
# What ops calls to keep a charm's state with the controller.
STATE_TOOLS = ("state-get", "state-set", "state-delete")
CONFIG_FILE = "config.json"
UNIT_STATUS_FILE = "unit-status"
APP_STATUS_FILE = "app-status"
# The tools every hook calls, in the shell; the controller's directory is the
# state file's. ``read`` and ``printf`` are builtins: no process but the shell.
SHELL_TOOLS = {
    "juju-log": f"""#!/bin/sh
# juju-log [--log-level LEVEL] [--] MESSAGE...: appends one "LEVEL: MESSAGE" line.
level=INFO
while [ $# -gt 0 ]; do
    case $1 in
        --log-level) level=$2; shift 2 ;;
        --) shift; break ;;
        -*) shift ;;
        *) break ;;
    esac
done
printf '%s: %s\\n' "$level" "$*" >> "${LOG_ENV}"
""",
    "config-get": f"""#!/bin/sh
# config-get --format=json: the whole config (one JSON line), as ops asks for it.
if [ "$*" != --format=json ]; then
    echo "config-get: only 'config-get --format=json' is emulated, not: $*" >&2
    exit 2
fi
IFS= read -r config < "${{{STATE_ENV}%/*}}/{CONFIG_FILE}"
printf '%s\\n' "$config"
""",
    "is-leader": """#!/bin/sh
# is-leader --format=json: the emulated unit is its application's only unit, so its leader.
printf 'true\\n'
""",
    "status-set": f"""#!/bin/sh
# status-set --application=BOOL STATUS [-- MESSAGE]: the status, then the message.
file={UNIT_STATUS_FILE}
case $1 in
    --application=True | --application=true) file={APP_STATUS_FILE}; shift ;;
    --application=*) shift ;;
esac
status=$1
shift
if [ "${{1-}}" = -- ]; then shift; fi
printf '%s\\n%s' "$status" "$*" > "${{{STATE_ENV}%/*}}/$file"
""",
}


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _save(path: Path, state: dict[str, Any]) -> None:
    # Hook tools run one at a time, so one temporary name is enough.
    temporary = path.with_name(f".{path.name}.new")
    temporary.write_text(json.dumps(state, indent=1), encoding="utf-8")
    os.replace(temporary, path)


# What ``juju exec`` puts in a command's environment: the variables of a hook
# context (Juju 3.6, HookContext.HookVars in internal/worker/uniter/runner/
# context/context.go) with no hook name, and PATH with the hook tools first.
# No JUJU_DISPATCH_PATH and no JUJU_WORKLOAD_NAME: no event is being run.
# Values that name a real controller's sockets and addresses are stand-ins;
# ops reads none of them. The context id and the agent's socket name the unit
# (see :meth:`HookTools.exec_environment`).
EXEC_ENVIRONMENT = {
    "JUJU_HOOK_NAME": "",
    "JUJU_AGENT_SOCKET_NETWORK": "unix",
    "JUJU_MODEL_UUID": MODEL_UUID,
    "JUJU_MODEL_NAME": MODEL_NAME,
    "JUJU_API_ADDRESSES": "",
    "JUJU_MACHINE_ID": "",
    "JUJU_PRINCIPAL_UNIT": "",
    "JUJU_AVAILABILITY_ZONE": "",
    "JUJU_VERSION": JUJU_VERSION,
    "CLOUD_API_VERSION": "",
    "JUJU_CHARM_HTTP_PROXY": "",
    "JUJU_CHARM_HTTPS_PROXY": "",
    "JUJU_CHARM_FTP_PROXY": "",
    "JUJU_CHARM_NO_PROXY": "",
}


class HookTools:
    """The hook tools of one unit, and the controller's view of it: its config in, its reports out.

    ``seen_as`` is where the hooks find ``directory``, when they run where it
    is mounted elsewhere (inside a container), ``python`` the interpreter the
    tools run with there, and ``harness_path`` the directory that holds the
    ``nocloud`` package there.
    """

    def __init__(
        self,
        directory: Path,
        config: dict[str, Any],
        *,
        seen_as: Path | None = None,
        python: str = sys.executable,
        harness_path: str = str(Path(__file__).resolve().parents[1]),
    ):
        self.directory = directory
        self.state_file = directory / "juju-state.json"
        self.log_file = directory / "juju-log.txt"
        self.tools_dir = directory / "tools"
        self._seen_as = seen_as or directory
        self._python = python
        self._harness_path = harness_path
        directory.mkdir(parents=True, exist_ok=True)
        _save(self.state_file, {"opened-ports": [], "workload-version": "", "charm-state": {}})
        self._write_config(dict(config))
        (directory / UNIT_STATUS_FILE).write_text("maintenance\n", encoding="utf-8")
        (directory / APP_STATUS_FILE).write_text("unknown\n", encoding="utf-8")
        self.log_file.write_text("")
        self._write_tools()

    def _write_config(self, config: dict[str, Any]) -> None:
        # One line, which config-get reads with the shell's ``read``.
        line = json.dumps(config, separators=(",", ":")) + "\n"
        temporary = self.directory / f".{CONFIG_FILE}.new"
        temporary.write_text(line, encoding="utf-8")
        os.replace(temporary, self.directory / CONFIG_FILE)

    def _write_tools(self) -> None:
        self.tools_dir.mkdir(exist_ok=True)
        script = (
            f"#!{self._python} -IS\n"
            "import sys\n"
            f"sys.path.insert(0, {self._harness_path!r})\n"
            "from nocloud import hook_tools\n"
            "sys.exit(hook_tools.main(sys.argv))\n"
        )
        tools = dict.fromkeys(TOOLS, script) | SHELL_TOOLS
        # The charm state Juju keeps for ``use_juju_for_storage=True``: its values
        # are YAML, so these tools run with the site packages (PyYAML) too.
        tools |= dict.fromkeys(STATE_TOOLS, script.replace(" -IS\n", " -I\n", 1))
        for name, text in tools.items():
            tool = self.tools_dir / name
            tool.write_text(text, encoding="utf-8")
            tool.chmod(0o755)

    @property
    def state(self) -> dict[str, Any]:
        """What the controller holds besides config and status, freshly read."""
        return _load(self.state_file)

    @property
    def config(self) -> dict[str, Any]:
        """The application's config, as ``config-get`` answers it."""
        return json.loads((self.directory / CONFIG_FILE).read_text(encoding="utf-8"))

    def set_config(self, **options: Any) -> None:
        """Change the application's config, as ``juju config`` does before config-changed."""
        self._write_config(self.config | options)

    @property
    def unit_status(self) -> tuple[str, str]:
        """The unit's workload status and message, as the last ``status-set`` left them."""
        status, _, message = (
            (self.directory / UNIT_STATUS_FILE).read_text(encoding="utf-8").partition("\n")
        )
        return status, message

    @property
    def opened_ports(self) -> list[str]:
        """The ports the unit opened, as ``opened-ports`` lists them."""
        return self.state["opened-ports"]

    @property
    def workload_version(self) -> str:
        """The version the unit reported."""
        return self.state["workload-version"]

    @property
    def log(self) -> str:
        """Everything logged with ``juju-log``, a LEVEL: MESSAGE line per call."""
        return self.log_file.read_text(encoding="utf-8")

    def exec_environment(self, unit: str, charm_dir: Path | str) -> dict[str, str]:
        """The environment ``juju exec`` gives a command: a hook context with no event."""
        agent = f"unit-{unit.replace('/', '-')}"
        return {
            "PATH": f"{self._seen_as / 'tools'}:{SYSTEM_PATH}",
            "LANG": "C.UTF-8",
            STATE_ENV: str(self._seen_as / self.state_file.name),
            LOG_ENV: str(self._seen_as / self.log_file.name),
            "JUJU_CONTEXT_ID": f"{unit}-run-commands-1",
            "JUJU_AGENT_SOCKET_ADDRESS": f"@/var/lib/juju/agents/{agent}/agent.socket",
            **EXEC_ENVIRONMENT,
            "CHARM_DIR": str(charm_dir),
            "JUJU_CHARM_DIR": str(charm_dir),
            "JUJU_UNIT_NAME": unit,
        }

    def environment(self, unit: str, charm_dir: Path, hook: str) -> dict[str, str]:
        """The environment Juju gives a hook (only what ops reads, plus PATH)."""
        env = {
            "PATH": f"{self.tools_dir}:{SYSTEM_PATH}",
            "LANG": "C.UTF-8",
            STATE_ENV: str(self.state_file),
            LOG_ENV: str(self.log_file),
            "JUJU_CHARM_DIR": str(charm_dir),
            "JUJU_DISPATCH_PATH": f"hooks/{hook}",
            "JUJU_HOOK_NAME": hook,
            "JUJU_UNIT_NAME": unit,
            "JUJU_MODEL_NAME": MODEL_NAME,
            "JUJU_MODEL_UUID": MODEL_UUID,
            "JUJU_VERSION": JUJU_VERSION,
        }
        if hook.endswith("-pebble-ready"):
            env["JUJU_WORKLOAD_NAME"] = hook.removesuffix("-pebble-ready")
        return env


def write_dispatch(charm_dir: Path, command: Sequence[str]) -> Path:
    """The charm's ``dispatch``, as charmcraft writes it, running ``command`` in ``charm_dir``.

    ``command`` is the interpreter that has the charm's dependencies, then the
    charm's entrypoint (``./src/charm.py``) and any arguments.
    """
    dispatch = charm_dir / "dispatch"
    dispatch.write_text(
        f'#!/bin/sh\nJUJU_DISPATCH_PATH="${{JUJU_DISPATCH_PATH:-$0}}" exec {shlex.join(command)}\n'
    )
    dispatch.chmod(0o755)
    return dispatch


def _port_spec(args: list[str]) -> str:
    spec = next(arg for arg in args if not arg.startswith("-"))
    return spec if "/" in spec or spec == "icmp" else f"{spec}/tcp"


def _positional(args: list[str]) -> list[str]:
    if "--" in args:
        split = args.index("--")
        return [arg for arg in args[:split] if not arg.startswith("-")] + args[split + 1 :]
    return [arg for arg in args if not arg.startswith("-")]


def _answer(name: str, args: list[str], state: dict[str, Any]) -> Any:
    """Apply one tool call to the state; return what to print as JSON (None prints nothing)."""
    if name == "application-version-set":
        words = _positional(args)
        state["workload-version"] = words[0] if words else ""
    elif name == "open-port":
        if (spec := _port_spec(args)) not in state["opened-ports"]:
            state["opened-ports"].append(spec)
    elif name == "opened-ports":
        return state["opened-ports"]
    return None


def _charm_state(name: str, args: list[str], state: dict[str, Any]) -> str:
    """``state-get KEY``, ``state-set --file -`` or ``state-delete KEY``; what to print."""
    import yaml  # the state tools run with the site packages

    kept: dict[str, str] = state["charm-state"]
    if name == "state-set":
        kept.update(yaml.safe_load(sys.stdin.read()) or {})
    elif name == "state-delete":
        kept.pop(args[0], None)
    elif args:
        return kept.get(args[0], "")
    else:
        return yaml.safe_dump(kept)
    return ""


def main(argv: list[str]) -> int:
    """Answer one hook-tool call; the tool's name is the command's name."""
    name, args = Path(argv[0]).name, argv[1:]
    path = Path(os.environ[STATE_ENV])
    state = _load(path)
    if name in STATE_TOOLS:
        output = _charm_state(name, args, state)
        _save(path, state)
        sys.stdout.write(output)
        return 0
    if name not in TOOLS:
        print(f"ERROR {name}: not a hook tool nocloud emulates", file=sys.stderr)
        return 1
    answer = _answer(name, args, state)
    _save(path, state)
    if answer is not None:
        print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
