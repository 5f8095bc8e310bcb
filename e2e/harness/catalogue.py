"""The defects the suite exists to catch (../shared/failure-catalogue.md), and how an
assertion message names them."""

from __future__ import annotations

CATALOGUE: dict[str, str] = {
    "F1": "navigation closes and reopens the socket (and refetches)",
    "F2": "a late response is applied after the user moved on",
    "F3": "the client gives up reconnecting after a few quick closes",
    "F4": "a live connection is dropped by a timer and not restored",
    "F5": "updates reach only clients viewing the same period",
    "F6": "membership is not recomputed when start or end changes",
    "F7": "no resync after a reconnect",
    "F8": "edits made while disconnected are dropped or never sent",
    "F9": "a confirmed write is not durable",
    "F10": "concurrent edits of one row diverge",
    "F11": "navigation does work it should not",
    "F12": "memory grows with every navigation",
    "F13": "an old socket's close handler acts on the new connection",
    "F14": "a server ERROR is not shown; the UI keeps the optimistic value",
    "F15": "malformed or hostile input breaks the connection or the server",
    # Classes found since, each with a defect the reference app can switch on:
    "F16": "a write other than a rename (a create, a delete) is lost on a failure path",
    "F17": "a write repeated after a lost echo is applied twice",
    "F18": "concurrent edits of different fields of one person overwrite each other",
    "F19": "the period label, the current chip and the table disagree in a painted frame",
    "F20": "reconnect waits grow without bound after an outage",
    "F21": "navigation leaves listeners, DOM nodes or documents behind, a little each time",
    "F22": "the server computes period membership wrongly (a boundary day)",
    "F23": "a refused write other than an update is not rolled back",
    "F24": "an edit of a field other than name or position does not reach other screens",
    # Classes that need ordinary user behaviour no script performed, found by exploration:
    "F25": "a reloaded page shows stale data (a cache taken for the server's answer)",
    "F26": "tabs of one browser profile are taken for one client (their writes collide)",
    "F27": "text outside ASCII is refused or changed (a limit in bytes, an encoding)",
    "F28": "text that looks like markup is rendered as markup (stored XSS)",
    "F29": "a user's mode is drawn again on reload (the rollout is not sticky)",
    "F30": "an offline edit is lost when its row changed during the outage",
    # Classes of a rollout step, found by opening users as the deployment assigns them:
    "F31": "the share of users in the new mode is not the share the flag announces",
    "F32": "the legacy cohort regresses with the prefetch code (errors, slower loads)",
    "F33": "one cohort's memory stays over the plan's 30 MB",
    # Classes of page loads: a write saved in a tab that reloads, closes or crashes first:
    "F34": "a saved write is lost when its tab reloads, closes or crashes before it is sent",
    "F35": "a write re-sent after a page load is taken for a new one (applied twice)",
    "F36": "a write carried over one page load is lost at the next (the outbox emptied early)",
    # Classes of a server that runs for weeks: something kept of every closed connection:
    "F37": "the server keeps a closed connection (counted and held as if connected)",
    "F38": "the server keeps a task of every connection it ever had",
    "F39": "the server keeps a file descriptor of every connection it ever had",
    # Classes of a fault at a protocol moment:
    "F40": "a write's answer repeated after a reconnect is shown over newer data",
    "F41": "a write's answer repeated after a reconnect replaces a colleague's newer row",
    "F42": "a write broadcast while a tab reconnects is never shown there (no resync)",
    # Classes of a user who lingers over a form while colleagues write:
    "F43": "a form saved after a colleague's edit overwrites the fields the user left alone",
    "F44": "a colleague's write that arrives while a form is open is lost when it closes",
    # Classes seen only under the conditions users have:
    "F45": "the client gives up in an outage as long as a deploy (a patience tuned on short ones)",
    "F46": "a date made through the browser's local time is a day off east of UTC",
    "F47": "a timer tuned on loopback takes a round trip for a loss (a write made twice)",
    "F48": "a server cost that multiplies with database latency (a query per row)",
    # Classes of a page load after a write's answer was lost:
    "F49": "a page load shows a write the server applied as waiting, beside its row (twice)",
}


def explain(expected: str, seen: object, defects: tuple[str, ...], evidence: str = "") -> str:
    """An assertion message: what was expected, what was seen, which defects, where to look."""
    named = "; ".join(f"{d}: {CATALOGUE[d]}" for d in defects)
    where = f" Evidence: {evidence}" if evidence else ""
    return f"Expected {expected}; saw {seen}. Points to [{named}].{where}"
