"""One exploration: Hypothesis' budget, what was explored, and a failure's replay."""

from __future__ import annotations

import statistics
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser

from e2e.conditions.room import Room
from e2e.explore.explorer import Explorer
from e2e.explore.model import Model
from e2e.explore.steps import Step, numbered, save
from e2e.explore.text import MARKER, looks_like_markup
from e2e.explore.world import World
from e2e.harness.options import SuiteConfig
from e2e.harness.target import Target

TEXT_ACTIONS = ("edit", "create", "other_write", "type")
LINGER = ("open_form", "type", "wait", "save_form", "cancel_form")


class BudgetSpent(BaseException):
    """Not a failure: the exploration's time is up. A BaseException, so that Hypothesis
    ends its run at once instead of taking it for a failing example."""


@dataclass
class Failure:
    steps: list[Step]
    message: str
    evidence: list[str]
    identities: dict[str, dict[str, Any]]  # each profile's storage when first opened
    promise: str  # which promise broke (explorer.BROKEN_BY)
    replays: str = ""  # "fails again" once a replay of exactly these steps failed too
    modes: dict[str, str] = field(default_factory=dict)  # each profile's, as the target drew it


@dataclass
class ExploreSession:
    browser: Browser
    context_args: dict[str, Any]
    target: Target
    config: SuiteConfig
    room: Room
    started: float = field(default_factory=time.monotonic)
    failed_at: float | None = None
    examples: int = 0
    steps: int = 0
    checks: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    pairs: Counter[tuple[str, str]] = field(default_factory=Counter)
    cells: Counter[tuple[str, str]] = field(default_factory=Counter)  # coverage matrix
    moments: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # the nemesis'
    zones: Counter[str] = field(default_factory=Counter)  # the profiles' clocks
    rtts: list[int] = field(default_factory=list)  # the round trips drawn per step (ms)
    server_left: list[dict[str, float]] = field(default_factory=list)  # per judged sequence
    failure: Failure | None = None
    salt: int = 0  # the current example's, kept from the first failure on (see salted)
    stopped: str = ""  # why exploring ended before Hypothesis did: its budget
    restarts: int = 0  # Hypothesis runs begun again after it found its draws inconsistent

    @property
    def server_actions(self) -> bool:
        return self.target.app is not None

    @property
    def folder(self) -> Path:
        return self.config.run_dir / "explore"

    def check_budget(self) -> None:
        """Before a new example: stop when exploring, or shrinking a failure, is over."""
        now = time.monotonic()
        if self.failed_at is not None:
            if now > self.shrink_deadline():
                self.stopped = "shrinking"
        elif now - self.started > self.config.explore_seconds:
            self.stopped = "exploring"
        if self.stopped:
            raise BudgetSpent(self.stopped)

    def shrink_deadline(self) -> float:
        """The end of shrinking a failure: deleting whole steps (machine.minimise). Not
        Hypothesis' own shrinking: the machine scatters each drawn number with the step's
        index, so that a draw shrunk or deleted changes every later choice."""
        assert self.failed_at is not None
        return self.failed_at + self.config.explore_shrink_seconds

    def explorer(self, identities: dict[str, dict[str, Any]] | None = None) -> Explorer:
        model = Model(self.target.calendar or [], self.config.text_limit)
        world = World(self.browser, self.context_args, self.target, self.room)
        self.examples += 1
        return Explorer(world, model, self.target, identities)

    def salted(self) -> int:
        """What the machine mixes into each choice it scatters: new for every example while
        exploring (so that Hypothesis' many zero draws still make different sequences), then
        the failing example's."""
        if self.failed_at is None:  # from the seed, so that a seed explores the same way
            self.salt = (self.config.explore_seed * 1_000_003 + self.examples) % 2**32
        return self.salt

    def count(self, explorer: Explorer, step: Step) -> None:
        self.steps += 1
        self.actions[step.action] += 1
        if step.args.get("answer_lost"):
            self.actions[f"{step.action} (answer lost)"] += 1
        if strike := step.args.get("strike"):
            colleague = " + colleague" if strike.get("meanwhile") else ""
            self.actions[f"{step.action} ({strike['moment']} / {strike['fault']}{colleague})"] += 1
        if rtt := step.args.get("rtt_ms"):
            self.rtts.append(int(rtt))
        if step.action == "open_profile":
            self.zones[step.args.get("zone") or self.config.conditions.zone] += 1
        if _holding(explorer, step):
            self.actions[f"{step.action} (holding writes)"] += 1
        if step.action in TEXT_ACTIONS:
            texts = [v for v in _texts(step.args)]
            limit = self.config.text_limit
            for kind in sorted({k for text in texts for k in content_kinds(text, limit)}):
                self.pairs[(step.action, kind)] += 1

    def judged(self, explorer: Explorer) -> None:
        """What the server kept of an explored sequence's closed tabs, when it was judged."""
        if explorer.left is not None:
            self.server_left.append(explorer.left)

    def failed(self, explorer: Explorer, error: BaseException) -> None:
        """Keep this failing example when it is the shortest so far (Hypothesis shrinks
        towards shorter ones)."""
        if self.failed_at is None:
            self.failed_at = time.monotonic()
        if self.failure is not None and len(explorer.steps) > len(self.failure.steps):
            return
        self.failure = self.kept(explorer, error)

    def kept(self, explorer: Explorer, error: BaseException, replays: str = "") -> Failure:
        """A failure of `explorer`'s steps, with each tab's evidence kept."""
        evidence = explorer.world.keep_evidence(self.folder / "failure")
        promise = getattr(error, "promise", type(error).__name__)
        modes = {name: p.mode for name, p in explorer.model.profiles.items() if p.mode}
        return Failure(
            list(explorer.steps), str(error), evidence, explorer.identities, promise, replays, modes
        )

    def write_replay(self) -> Path | None:
        if self.failure is None:
            return None
        path = self.folder / "replay.json"
        save(path, self.failure.steps, self.facts())
        return path

    def facts(self) -> dict[str, Any]:
        c = self.config
        return {
            "seed": c.explore_seed,
            "target": c.base_url or "embedded",
            "client": c.client if c.embedded else "deployment",
            "defect": c.defect,
            "rollout": c.explore_rollout if c.embedded else None,
            "textLimit": c.text_limit,
            "identities": self.failure.identities if self.failure else {},
        }

    def summary(self) -> str:
        kinds = ", ".join(f"{a} {n}" for a, n in self.actions.most_common())
        pairs = ", ".join(f"{a} x {k}" for a, k in sorted(self.pairs))
        cells = ", ".join(f"{o} / {c} {n}" for (o, c), n in sorted(self.cells.items()))
        moments = ", ".join(f"{o} @ {m} / {f} {n}" for (o, m, f), n in sorted(self.moments.items()))
        lingering = ", ".join(f"{a} {n}" for a, n in sorted(self.actions.items()) if a in LINGER)
        zones = ", ".join(f"{z} {n}" for z, n in self.zones.most_common())
        return (
            f"explored {self.examples} sequences, {self.steps} steps, {self.checks} checks"
            f" in {time.monotonic() - self.started:.0f} s (seed {self.config.explore_seed}"
            f"{f', Hypothesis begun again {self.restarts} times' if self.restarts else ''})\n"
            f"  actions: {kinds}\n  action x content ({len(self.pairs)}): {pairs}\n"
            f"  coverage cells exercised ({len(self.cells)}): {cells}\n"
            f"  (operation x moment x fault) cells reached ({len(self.moments)}): {moments}\n"
            f"  lingering steps: {lingering or 'none'}\n"
            f"  profiles' clocks: {zones or 'none'}"
            + (
                f"\n  round trips per step: {min(self.rtts)}-{max(self.rtts)} ms, median"
                f" {statistics.median(self.rtts):.0f} ms over {len(self.rtts)} steps"
                if self.rtts
                else ""
            )
        )

    def failure_report(self, replay: Path | None) -> str:
        assert self.failure is not None
        run = self.config.run_dir
        return (
            f"{self.failure.message.split(chr(10) + 'After these steps:')[0]}\n"
            f"Shortest sequence found ({len(self.failure.steps)} steps"
            f"{', fails again on replay' if self.failure.replays else ''}):\n"
            f"{numbered(self.failure.steps)}\n"
            f"Replay: pytest e2e/test_explore.py --explore-replay {replay} [--headed --slowmo 300]"
            f"\n    or: pytest e2e/test_explore.py --explore-seed {self.config.explore_seed}"
            f"\nEvidence: {self.folder / 'failure'} (screenshot, console and the probe's frames of"
            f" each tab); the run: {run}"
        )


def _texts(args: dict[str, Any]) -> list[str]:
    values = [*args.get("fields", {}).values(), *(args.get("changes") or {}).values()]
    values += [args[k] for k in ("name", "position") if k in args]
    return [v for v in values if isinstance(v, str) and v not in ("active", "on_leave", "inactive")]


def content_kinds(text: str, limit: int | None) -> set[str]:
    """What kind of text a value is, for the action x content coverage."""
    kinds = set()
    if MARKER in text or looks_like_markup(text):
        kinds.add("markup")
    if any(ord(c) > 0x2E80 and unicodedata.category(c).startswith("L") for c in text):
        kinds.add("cjk/hangul/kana")
    if any(unicodedata.bidirectional(c) in ("R", "AL") for c in text):
        kinds.add("right-to-left")
    if any(unicodedata.category(c) == "So" or c == "\u200d" for c in text):
        kinds.add("emoji")
    if any(unicodedata.combining(c) for c in text):
        kinds.add("combining marks")
    if text != text.strip():
        kinds.add("spaces around")
    if limit is not None and len(text) >= limit:
        kinds.add("at or over the limit")
    if not kinds:
        kinds.add("plain" if text.isascii() else "other scripts")
    return kinds


def _holding(explorer: Explorer, step: Step) -> bool:
    """A tab (or a browser) leaves while it holds saved writes the server has not confirmed."""
    m = explorer.model
    profile = m.profiles.get(step.profile)
    if profile is None or step.action not in ("reload", "close_tab", "crash", "restart_browser"):
        return False
    if step.action == "restart_browser":
        return any(t.queued for t in profile.tabs.values())
    tab = profile.tabs.get(step.tab)
    return tab is not None and bool(tab.queued)
