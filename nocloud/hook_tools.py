"""The Juju side of a hook, emulated: hook tools and what they report to the controller.

ops talks to Juju only through environment variables and hook tools
(``config-get``, ``status-set``, ...), which it runs as commands on PATH. This
module is both the set of those tools and the controller state they share:

* :class:`HookTools` is the test's handle: it holds the model's config and
  the unit's attached storage, writes the tools into a directory, gives each
  hook or action its environment and reads back what the charm reported
  (unit status, opened ports, workload version, log lines, an action's
  results).
* The tools every hook may call (``config-get``, ``is-leader``,
  ``status-set``, ``juju-log``, ``storage-list``, ``storage-get``) are POSIX
  shell scripts using only shell builtins, each reading a one-line file of
  its own in the controller's directory, which :class:`HookTools` replaces
  atomically. Juju's own tools are one compiled binary; an interpreter
  starting for each call would make every hook's cost mostly the
  emulation's, not the charm's.
* The rest, called only when a hook changes something or in an action, are
  this module run as a tool (``main``): it answers one call from the state
  file named by ``NOCLOUD_HOOK_STATE`` (or the action's file beside it), with
  ``python -I -S`` (standard library and ``nocloud.settings`` only).

Only the tools that ops 3.9 calls for a charm that sets its status, version
and opened ports, reads its storage and runs actions exist (and
``state-get``, ``state-set``, ``state-delete``, for a charm that keeps its
state with the controller), each with the arguments ops passes; a call of any
other fails the hook loudly (command not found), and so does an argument
ops never passes. Storage is of one kind (``filesystem``) with one instance
per name (``NAME/0``), attached or not; ``storage-add`` does not exist. No
relation, secret or network tool exists.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nocloud.settings import (
    ACTION_FAILED_DEFAULT,
    JUJU_VERSION,
    LOG_ENV,
    MODEL_NAME,
    MODEL_UUID,
    STATE_ENV,
    STORAGE_KIND,
    STORAGE_NAME,
    SYSTEM_PATH,
)

# What ops 3.9 calls (found by running a charm) when a hook sets a version or opens a port.
TOOLS = ("application-version-set", "open-port", "opened-ports")
# What ops calls to keep a charm's state with the controller.
STATE_TOOLS = ("state-get", "state-set", "state-delete")
# What ops calls in an action (and only there: Juju refuses them in a hook).
ACTION_TOOLS = ("action-get", "action-set", "action-fail", "action-log")
CONFIG_FILE = "config.json"
UNIT_STATUS_FILE = "unit-status"
APP_STATUS_FILE = "app-status"
# The names of the attached storage, on one line; and a directory with a file
# per attached storage: its storage-get answer, its location, its kind (JSON, a line each).
STORAGE_LIST_FILE = "storage-attached"
STORAGE_FILES = "storage"
# The running (or last) action: its parameters and what the charm reported.
ACTION_FILE = "action.json"
# The hooks of a storage event, by the suffix after the storage's name.
STORAGE_HOOKS = ("-storage-attached", "-storage-detaching")
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
    "storage-list": f"""#!/bin/sh
# storage-list --format=json [NAME]: the attached storage's ids, a JSON list, as ops asks for them.
set -f
format='' name='' bad=''
for arg in "$@"; do
    case $arg in
        --format=json) format=json ;;
        -*) bad=1 ;;
        *) if [ -n "$name" ]; then bad=1; fi; name=$arg ;;
    esac
done
if [ "$format" != json ] || [ -n "$bad" ]; then
    echo "storage-list: only 'storage-list --format=json [NAME]' is emulated, not: $*" >&2
    exit 2
fi
IFS= read -r attached < "${{{STATE_ENV}%/*}}/{STORAGE_LIST_FILE}"
ids=
for each in $attached; do
    if [ -z "$name" ] || [ "$each" = "$name" ]; then
        ids="$ids${{ids:+,}}\\"$each/0\\""
    fi
done
printf '[%s]\\n' "$ids"
""",
    "storage-get": f"""#!/bin/sh
# storage-get --format=json [-s ID] [KEY]: storage ID's kind and location (one of them with
# KEY), as JSON; ID is the hook's storage (JUJU_STORAGE_ID) without -s.
usage() {{
    echo "storage-get: only 'storage-get --format=json [-s ID] [location|kind]' is emulated" >&2
    exit 2
}}
id=${{JUJU_STORAGE_ID-}} key='' format=''
while [ $# -gt 0 ]; do
    case $1 in
        --format=json) format=json; shift ;;
        -s) if [ $# -lt 2 ]; then usage; fi; id=$2; shift 2 ;;
        -s=*) id=${{1#-s=}}; shift ;;
        -*) usage ;;
        *) if [ -n "$key" ]; then usage; fi; key=$1; shift ;;
    esac
done
if [ "$format" != json ]; then usage; fi
name=${{id%/0}}
case $id in */0) ;; *) name= ;; esac
case $name in
    "" | *[!a-z0-9-]*) echo "ERROR invalid storage ID \\"$id\\"" >&2; exit 1 ;;
esac
file="${{{STATE_ENV}%/*}}/{STORAGE_FILES}/$name"
if [ ! -f "$file" ]; then
    echo "ERROR storage \\"$id\\" not found" >&2
    exit 1
fi
{{ IFS= read -r whole; IFS= read -r location; IFS= read -r kind; }} < "$file"
case $key in
    "") printf '%s\\n' "$whole" ;;
    location) printf '%s\\n' "$location" ;;
    kind) printf '%s\\n' "$kind" ;;
    *) echo "ERROR invalid storage attribute \\"$key\\"" >&2; exit 1 ;;
esac
""",
}


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _save(path: Path, state: dict[str, Any]) -> None:
    _replace(path, json.dumps(state, indent=1))


def _replace(path: Path, text: str) -> None:
    """Replace ``path`` by one with ``text`` at once: a tool reading it sees the old or the new."""
    # Hook tools run one at a time, and the test waits for them, so one temporary name is enough.
    temporary = path.with_name(f".{path.name}.new")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


@dataclass(frozen=True)
class ActionResult:
    """What the charm reported in one action: its ``action-set``, ``action-fail``, ``action-log``.

    ``results`` holds the pairs as ops passes them, nested keys flattened
    (``key.sub``); ``failed`` is the failure message, None if the action did
    not fail (a charm that raises fails its dispatch instead, see
    ``HookResult``).
    """

    results: dict[str, str]
    failed: str | None
    logs: list[str]


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
    ``nocloud`` package there. ``storage`` is the storage attached from the
    start: each name's one instance (``NAME/0``) and the location
    ``storage-get`` reports for it, as the hooks see it.
    """

    def __init__(
        self,
        directory: Path,
        config: dict[str, Any],
        *,
        seen_as: Path | None = None,
        python: str = sys.executable,
        harness_path: str = str(Path(__file__).resolve().parents[1]),
        storage: Mapping[str, str] | None = None,
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
        self._storage: dict[str, str] = {}
        self._storage_files = directory / STORAGE_FILES
        self._storage_files.mkdir(exist_ok=True)
        for stale in self._storage_files.iterdir():
            stale.unlink()
        self._write_attached()
        for name, location in (storage or {}).items():
            self.attach_storage(name, location)
        self._actions = 0
        self._write_tools()

    def _write_config(self, config: dict[str, Any]) -> None:
        # One line, which config-get reads with the shell's ``read``.
        _replace(self.directory / CONFIG_FILE, json.dumps(config, separators=(",", ":")) + "\n")

    def _write_attached(self) -> None:
        # One line of names, which storage-list splits with the shell (names need no quoting).
        _replace(self.directory / STORAGE_LIST_FILE, " ".join(self._storage) + "\n")

    def _write_tools(self) -> None:
        self.tools_dir.mkdir(exist_ok=True)
        script = (
            f"#!{self._python} -IS\n"
            "import sys\n"
            f"sys.path.insert(0, {self._harness_path!r})\n"
            "from nocloud import hook_tools\n"
            "sys.exit(hook_tools.main(sys.argv))\n"
        )
        tools = dict.fromkeys(TOOLS + ACTION_TOOLS, script) | SHELL_TOOLS
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

    @property
    def storage(self) -> dict[str, str]:
        """The attached storage: each name and the location ``storage-get`` reports."""
        return dict(self._storage)

    def attach_storage(self, name: str, location: str) -> None:
        """Attach storage ``name`` (instance ``name/0``), as Juju does before its attached hook.

        ``location`` is where the hooks find it, as ``storage-get location`` reports it.
        """
        if not re.fullmatch(STORAGE_NAME, name):
            raise ValueError(f"not a storage name Juju allows: {name!r}")
        if name in self._storage:
            raise ValueError(f"storage {name}/0 is attached already")
        answer = {"kind": STORAGE_KIND, "location": location}
        lines = (json.dumps(answer), json.dumps(location), json.dumps(STORAGE_KIND))
        _replace(self._storage_files / name, "".join(f"{line}\n" for line in lines))
        self._storage[name] = location
        self._write_attached()

    def detach_storage(self, name: str) -> None:
        """Detach storage ``name``, as Juju does after ``*-storage-detaching``."""
        if name not in self._storage:
            raise KeyError(f"storage {name}/0 is not attached")
        del self._storage[name]
        self._write_attached()
        (self._storage_files / name).unlink()

    def action_result(self) -> ActionResult:
        """What the charm reported in the last action run with :meth:`action_environment`."""
        path = self.directory / ACTION_FILE
        if not path.exists():
            raise RuntimeError("no action has been run")
        action = _load(path)
        return ActionResult(action["results"], action["failed"], action["logs"])

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

    def _event_environment(self, unit: str, charm_dir: Path | str) -> dict[str, str]:
        """What every hook and action gets: what ops reads, plus PATH and the tools' state."""
        return {
            "PATH": f"{self._seen_as / 'tools'}:{SYSTEM_PATH}",
            "LANG": "C.UTF-8",
            STATE_ENV: str(self._seen_as / self.state_file.name),
            LOG_ENV: str(self._seen_as / self.log_file.name),
            "JUJU_CHARM_DIR": str(charm_dir),
            "JUJU_UNIT_NAME": unit,
            "JUJU_MODEL_NAME": MODEL_NAME,
            "JUJU_MODEL_UUID": MODEL_UUID,
            "JUJU_VERSION": JUJU_VERSION,
        }

    def environment(self, unit: str, charm_dir: Path | str, hook: str) -> dict[str, str]:
        """The environment Juju gives a hook (only what ops reads, plus PATH).

        A storage hook (``NAME-storage-attached``, ``NAME-storage-detaching``)
        names its storage as Juju 3.6 does: ``JUJU_STORAGE_ID`` (all ops
        reads), ``JUJU_STORAGE_LOCATION`` and ``JUJU_STORAGE_KIND``.
        """
        env = self._event_environment(unit, charm_dir)
        env |= {"JUJU_DISPATCH_PATH": f"hooks/{hook}", "JUJU_HOOK_NAME": hook}
        if hook.endswith("-pebble-ready"):
            env["JUJU_WORKLOAD_NAME"] = hook.removesuffix("-pebble-ready")
        for suffix in STORAGE_HOOKS:
            if hook.endswith(suffix):
                name = hook.removesuffix(suffix)
                if name not in self._storage:
                    raise ValueError(f"{hook}: storage {name}/0 is not attached")
                env["JUJU_STORAGE_ID"] = f"{name}/0"
                env["JUJU_STORAGE_LOCATION"] = self._storage[name]
                env["JUJU_STORAGE_KIND"] = STORAGE_KIND
        return env

    def action_environment(
        self, unit: str, charm_dir: Path | str, action: str, params: Mapping[str, Any]
    ) -> dict[str, str]:
        """The environment Juju 3.6 gives an action; starts its record, with ``params``.

        ops builds the ActionEvent from ``JUJU_DISPATCH_PATH=actions/NAME``
        and ``JUJU_ACTION_UUID`` (Juju 3's action ids are numbers); Juju
        exports the hook name empty. ``params`` (JSON values) reach
        ``action-get`` through a JSON file, so any string arrives as it was;
        what the charm reports is then :meth:`action_result`.
        """
        self._actions += 1
        record = {"name": action, "params": dict(params), "results": {}, "failed": None}
        _save(self.directory / ACTION_FILE, record | {"logs": []})
        env = self._event_environment(unit, charm_dir)
        return env | {
            "JUJU_DISPATCH_PATH": f"actions/{action}",
            "JUJU_HOOK_NAME": "",
            "JUJU_ACTION_NAME": action,
            "JUJU_ACTION_UUID": str(self._actions),
            "JUJU_ACTION_TAG": f"action-{self._actions}",
        }


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


def _action(name: str, args: list[str], action: dict[str, Any]) -> str | None:
    """``action-get``, ``-set``, ``-fail`` or ``-log`` on the action's record; what to print."""
    words = _positional(args)
    if name == "action-get":
        if "--format=json" not in args or len(words) > 1:
            raise ValueError("only 'action-get --format=json [KEY]' is emulated")
        value: Any = action["params"]
        for key in words[0].split(".") if words else ():
            value = value.get(key) if isinstance(value, dict) else None
        return json.dumps(value)
    if name == "action-set":
        pairs = [word.partition("=") for word in words]
        if not pairs or any(not key or not equals for key, equals, _ in pairs):
            raise ValueError(f"expected KEY=VALUE pairs, not {words}")
        action["results"].update((key, value) for key, _, value in pairs)
    elif name == "action-fail":
        if len(words) > 1:
            raise ValueError(f"unrecognized args: {words[1:]}")
        action["failed"] = words[0] if words else ACTION_FAILED_DEFAULT
    else:
        action["logs"].append(" ".join(words))
    return None


def _run_action_tool(name: str, args: list[str], path: Path) -> int:
    if not os.environ.get("JUJU_ACTION_NAME"):
        print(f"ERROR {name}: not running an action", file=sys.stderr)
        return 1
    action = _load(path)
    try:
        output = _action(name, args, action)
    except ValueError as e:
        print(f"ERROR {name}: {e}", file=sys.stderr)
        return 2
    _save(path, action)
    if output is not None:
        print(output)
    return 0


def main(argv: list[str]) -> int:
    """Answer one hook-tool call; the tool's name is the command's name."""
    name, args = Path(argv[0]).name, argv[1:]
    path = Path(os.environ[STATE_ENV])
    if name in ACTION_TOOLS:
        return _run_action_tool(name, args, path.with_name(ACTION_FILE))
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
