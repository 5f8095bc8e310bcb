"""Catalogued defects (../shared/failure-catalogue.md) the app can switch on, one at a time.

Each exists only to prove that the verification suite catches it. `where` says which side
carries it: the server, or the browser client (which learns the active defect from
/config.json and shows it in a banner).
"""

from __future__ import annotations

DEFECTS: dict[str, tuple[str, str]] = {
    "F1": ("client", "navigation closes and reopens the socket and refetches"),
    "F2": ("client", "a late period response is applied after the user moved on"),
    "F3": ("client", "the client gives up reconnecting after a few quick closes"),
    "F4": ("client", "a live connection is dropped by a 15 s timer and not restored"),
    "F5": ("client", "updates are applied only to the period being viewed"),
    "F6": ("client", "membership is not recomputed when start or end changes"),
    "F7": ("client", "no resync after a reconnect"),
    "F8": ("client", "edits made while disconnected are shown as saved but never sent"),
    "F9": ("server", "a confirmed write is not committed (lost on a crash)"),
    "F10": ("server", "the sender is not sent the accepted row, so concurrent edits diverge"),
    "F11": ("client", "navigation runs a blocking recompute of every period"),
    "F12": ("client", "every navigation keeps a copy of all periods alive"),
    "F13": ("client", "an old socket's close handler acts on the new connection"),
    "F14": ("client", "server ERROR is ignored; the optimistic value stays"),
    "F15": ("server", "one malformed frame closes every connection"),
    "F16": ("client", "creates and deletes made while disconnected are dropped on reconnect"),
    "F17": ("server", "the server forgets request ids: a replayed write is applied again"),
    "F18": ("client", "an edit sends every text field of its form, stale ones included"),
    "F19": ("client", "the period label follows the table one frame late"),
    "F20": ("client", "the reconnect backoff has no cap"),
    "F21": ("client", "every navigation adds a keydown listener that is never removed"),
    "F22": ("server", "membership takes a member's end date as exclusive"),
    "F23": ("client", "a refused create or delete is not rolled back (only updates are)"),
    "F24": ("client", "department and status in a broadcast row are not taken in"),
    "F25": ("client", "a reload shows the periods cached at the profile's last load"),
    "F26": ("client", "tabs of one profile share a client id and count request ids from 1"),
    "F27": ("server", "the text limit is counted in UTF-8 bytes, not characters"),
    "F28": ("client", "text cells are written as HTML"),
    "F29": ("client", "the rollout bucket is drawn again on every page load"),
    "F30": ("client", "an offline edit is dropped when its row changed during the outage"),
    "F31": ("client", "the rollout percentage is taken as the legacy share (10 % -> 90 % new)"),
    "F32": ("client", "a legacy page first asks for its period by a name the server does not know"),
    "F33": ("client", "a prefetch page keeps a 2 MiB text index of every period (> 30 MB)"),
    "F34": ("client", "the outbox lives in the page's memory: a reload, close or crash loses it"),
    "F35": ("client", "a write carried over a page load is re-sent under a fresh request id"),
    "F36": ("client", "a page load clears the stored outbox before its writes are sent"),
    "F37": ("server", "a closed connection stays in the hub"),
    "F38": ("server", "every connection starts a watchdog task that is never cancelled"),
    "F39": ("server", "every connection opens a trace file that is never closed"),
    "F40": ("client", "a write's repeated answer is applied over newer data (deleted rows return)"),
    "F41": ("client", "a row from the server replaces the one held whatever its version"),
    "F42": ("client", "a reconnect within 2 s of the drop skips the resync"),
    "F43": ("client", "Save compares the form with the row as it is now, not as it opened"),
    "F44": ("client", "writes arriving while a form is open are held, and dropped on Cancel"),
    "F45": ("client", "the client gives up after 30 s without a connection"),
    "F46": ("client", "the form makes a period's first day through local time"),
    "F47": ("client", "a write unanswered after 100 ms is sent again under a new request id"),
    "F48": ("server", "the snapshot reads every member's row with a query of its own"),
}
