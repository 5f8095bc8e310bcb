"""The exploration's steps: one user action each, as data. The state machine makes them, the
driver performs them, a replay file holds them, and a failure prints them in words."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from e2e.explore.text import describe

# Where a fault strikes a write, in words.
STRUCK = {
    "before": "as it is saved, before the page sends it",
    "sent": "sent, then lost on its way",
    "answered": "applied; its answer lost on the way back",
    "broadcast": "applied; its broadcast lost on the way to the other profiles",
}
# Actions on the server itself, possible only when the suite runs the app.
SERVER_ACTIONS = frozenset({"kill", "restart", "freeze"})


@dataclass(frozen=True)
class Step:
    action: str
    profile: str = ""  # A, B, C (empty: not a browser's action)
    tab: str = ""  # 1, 2, 3
    args: dict[str, Any] = field(default_factory=dict)

    def words(self) -> str:
        said = self._words()
        if self.args.get("answer_lost"):
            said += " (applied; its answer lost as the network goes)"
        if strike := self.args.get("strike"):
            said += f" ({STRUCK[strike['moment']]}, a {strike['fault']}"
            if colleague := strike.get("meanwhile"):
                said += f"; in its window another user: {colleague['kind']}"
                said += f" {colleague['handle']} {_changes(colleague)}".rstrip()
            said += ")"
        if rtt := self.args.get("rtt_ms"):
            said += f" [RTT {rtt} ms]"
        return said

    def _words(self) -> str:
        a = self.args
        who = f"profile {self.profile}" + (f" tab {self.tab}" if self.tab else "")
        match self.action:
            case "open_profile":
                zone = f", its clock in {a['zone']}" if a.get("zone") else ""
                return f"{who}: open the editor as the deployment assigns it{zone}"
            case "open_tab":
                return f"{who}: open the editor in a new tab of the same profile"
            case "close_tab" | "reload":
                return f"{who}: {self.action.replace('_', ' ')}"
            case "crash":
                return f"{who}: the tab crashes (no handler of the page runs)"
            case "restart_browser":
                return f"{who}: the browser quits and starts again, one tab of the editor"
            case "go":
                return f"{who}: click period {a['period']}"
            case "key":
                return f"{who}: press {'ArrowRight' if a['delta'] > 0 else 'ArrowLeft'}"
            case "burst":
                return f"{who}: 10 switches in 1 s, {a['targets']}"
            case "edit":
                fields = ", ".join(f"{k} -> {describe(str(v))}" for k, v in a["fields"].items())
                return f"{who}: edit {a['handle']}: {fields}"
            case "move":
                last = "open-ended" if a["last"] is None else f"to period {a['last']}"
                return f"{who}: move {a['handle']} from period {a['first']} {last}"
            case "create":
                return (
                    f"{who}: add {a['handle']} {describe(a['name'])} ({describe(a['position'])}),"
                    f" periods {a['first']}-{a['last'] if a['last'] is not None else 'open'}"
                )
            case "delete":
                return f"{who}: delete {a['handle']}"
            case "offline" | "online" | "cut":
                what = {"offline": "goes offline", "online": "comes back online"}
                return f"{who}: {what.get(self.action, 'its sockets are cut')}"
            case "other_write":
                return f"another user (protocol): {a['kind']} {a['handle']} {_changes(a)}".rstrip()
            case "open_form":
                form = f"the form of {a['handle']}" if a.get("handle") else "the create form"
                return f"{who}: open {form} and leave it open"
            case "type":
                fields = ", ".join(f"{k} -> {describe(str(v))}" for k, v in a["fields"].items())
                return f"{who}: type into the open form: {fields}"
            case "wait":
                return f"{who}: wait {a['seconds']} s, the form open"
            case "save_form":
                adding = f" (adding {a['handle']})" if "handle" in a else ""
                return f"{who}: save the form{adding}"
            case "cancel_form":
                return f"{who}: cancel the form"
            case "strike":
                return f"{who}: its sockets are cut, and a {a['fault']} strikes as its tabs resync"
            case "kill":
                return "server: kill -9"
            case "restart":
                return "server: start again"
            case "freeze":
                return f"server: frozen (SIGSTOP) for {a['seconds']} s"
        return f"{who}: {self.action} {a}"


def _changes(args: dict[str, Any]) -> str:
    changes = args.get("changes") or {}
    return ", ".join(f"{k} -> {describe(str(v))}" for k, v in changes.items())


def numbered(steps: list[Step]) -> str:
    return "\n".join(f"  {i + 1:>2}. {step.words()}" for i, step in enumerate(steps))


def save(path: Path, steps: list[Step], facts: dict[str, Any]) -> None:
    body = {"schema": 1, **facts, "steps": [asdict(s) for s in steps]}
    path.write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def load(path: Path) -> tuple[list[Step], dict[str, Any]]:
    body = json.loads(path.read_text(encoding="utf-8"))
    if body.get("schema") != 1 or not isinstance(body.get("steps"), list):
        raise ValueError(f"{path} is not an exploration replay file (schema 1 with steps)")
    steps = [
        Step(s["action"], s.get("profile", ""), s.get("tab", ""), s.get("args", {}))
        for s in body["steps"]
    ]
    facts = {k: v for k, v in body.items() if k not in ("schema", "steps")}
    return steps, facts
