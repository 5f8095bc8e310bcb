"""The wire protocol of ../shared/protocol.md: envelopes, message types, validation."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

CLIENT_TYPES = frozenset(
    {
        "SYNC_ALL_PERIODS_REQUEST",
        "SYNC_REQUEST",
        "STAFF_UPDATE",
        "STAFF_CREATE",
        "STAFF_DELETE",
        "PING",
    }
)
EDITABLE: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "position": (str,),
    "department": (str,),
    "type": (str,),
    "status": (str,),
    "staffOrder": (int,),
    "startPeriod": (str,),
    "endPeriod": (str, type(None)),
}
TYPES = frozenset({"full_time", "part_time", "contract"})
STATUSES = frozenset({"active", "on_leave", "inactive"})
MAX_TEXT = 100


class ProtocolError(Exception):
    """A client message that is answered with ERROR; `code` is the short error code."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def timestamp() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def envelope(kind: str, payload: dict[str, Any], client_id: str, **extra: Any) -> str:
    frame = {"type": kind, "payload": payload, "timestamp": timestamp(), "clientId": client_id}
    frame.update({k: v for k, v in extra.items() if v is not None})
    return json.dumps(frame, separators=(",", ":"))


MAX_CLIENT_KEY = 100


def parse(raw: str) -> tuple[str, dict[str, Any], str | None, str | None]:
    """(type, payload, requestId, the envelope's clientId) of a text frame, or
    ProtocolError naming what is wrong. A client that names itself in the envelope keeps
    that name across reconnects, so its replayed writes can be told from new ones."""
    try:
        frame = json.loads(raw)
    except ValueError as exc:
        raise ProtocolError("invalid_json", f"frame is not valid JSON: {exc}") from None
    if not isinstance(frame, dict):
        raise ProtocolError("invalid_envelope", "frame must be a JSON object")
    request_id = frame.get("requestId")
    if request_id is not None and not isinstance(request_id, (str, int)):
        raise ProtocolError("invalid_envelope", "requestId must be a string or a number")
    rid = None if request_id is None else str(request_id)
    kind = frame.get("type")
    if kind is None:
        raise ProtocolError("missing_type", "frame has no 'type'", requestId=rid)
    if not isinstance(kind, str) or kind not in CLIENT_TYPES:
        raise ProtocolError("unknown_type", f"unknown message type {kind!r}", requestId=rid)
    payload = frame.get("payload", {})
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise ProtocolError("invalid_payload", "payload must be an object", requestId=rid)
    sender = frame.get("clientId")
    if not isinstance(sender, str) or not 0 < len(sender) <= MAX_CLIENT_KEY:
        sender = None
    return kind, payload, rid, sender


def _date(field: str, value: Any) -> None:
    if value is None and field == "endPeriod":
        return
    try:
        dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ProtocolError(
            "invalid_field", f"{field} must be an ISO date (YYYY-MM-DD)", field=field
        ) from None
    if len(value) != 10:
        raise ProtocolError("invalid_field", f"{field} must be YYYY-MM-DD", field=field)


def text_length(value: str, *, in_bytes: bool = False) -> int:
    """A text's length in characters (code points), as the limit is stated; `in_bytes`
    counts its UTF-8 bytes instead, which is defect F27."""
    return len(value.encode("utf-8")) if in_bytes else len(value)


def validate_fields(
    fields: dict[str, Any], *, creating: bool, bytes_limit: bool = False
) -> dict[str, Any]:
    """The editable fields of `fields`, checked; ProtocolError on the first bad one.
    `bytes_limit` measures text in UTF-8 bytes (defect F27)."""
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise ProtocolError(
            "invalid_field", f"field(s) not editable: {', '.join(unknown)}", fields=unknown
        )
    for field, value in fields.items():
        kinds = EDITABLE[field]
        if not isinstance(value, kinds) or isinstance(value, bool):
            expected = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
            raise ProtocolError(
                "invalid_field",
                f"{field} must be {expected}, not {type(value).__name__}",
                field=field,
            )
        if (
            isinstance(value, str)
            and field not in ("startPeriod", "endPeriod")
            and text_length(value, in_bytes=bytes_limit) > MAX_TEXT
        ):
            raise ProtocolError(
                "invalid_field", f"{field} is longer than {MAX_TEXT} characters", field=field
            )
        if field in ("startPeriod", "endPeriod"):
            _date(field, value)
    if "name" in fields and not fields["name"].strip():
        raise ProtocolError("invalid_field", "name cannot be empty", field="name")
    if "type" in fields and fields["type"] not in TYPES:
        raise ProtocolError("invalid_field", f"type must be one of {sorted(TYPES)}", field="type")
    if "status" in fields and fields["status"] not in STATUSES:
        raise ProtocolError(
            "invalid_field", f"status must be one of {sorted(STATUSES)}", field="status"
        )
    if creating:
        if "name" not in fields:
            raise ProtocolError("invalid_field", "name is required", field="name")
        if "startPeriod" not in fields:
            raise ProtocolError("invalid_field", "startPeriod is required", field="startPeriod")
    end, start = fields.get("endPeriod"), fields.get("startPeriod")
    if end is not None and start is not None and end < start:
        raise ProtocolError("invalid_field", "endPeriod is before startPeriod", field="endPeriod")
    return fields


def staff_id_of(payload: dict[str, Any]) -> str:
    staff_id = payload.get("staffId", payload.get("id"))
    if not isinstance(staff_id, str) or not staff_id:
        raise ProtocolError("invalid_payload", "staffId must be a non-empty string")
    return staff_id
