"""The first look at a request to /slack/events: its signature, checked from the raw bytes
before anything parses them, then the shape of the body bolt is about to parse.

bolt parses the body first and checks the signature afterwards, so anyone could post
malformed, non-object, invalid UTF-8 or deeply nested bodies (or a timestamp of "abc") and get
an HTTP 500 with a traceback in the log for each. Here such a request is refused with 400 or
401 and a reason for one log line; what passes is signed by Slack and parses as bolt expects.
bolt still runs its own check afterwards (the same secret, the same five-minute window).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import parse_qsl

from slack_sdk.signature import SignatureVerifier

MAX_TIMESTAMP_DIGITS = 12


@dataclass(frozen=True)
class Refusal:
    status: int       # 401: not signed by Slack (or too old); 400: signed, but not a body bolt can read
    reason: str       # for the log: never the body


def check(verifier: SignatureVerifier, headers: Mapping[str, str], raw: bytes) -> Refusal | tuple[str, dict]:
    """(the body as text, parsed) when the request is Slack's and readable, else why it is refused."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not timestamp or not signature:
        return Refusal(401, "no Slack signature")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_TIMESTAMP_DIGITS) \
            or not signature.isascii():
        return Refusal(401, "a malformed signature or timestamp header")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal(400, "a body that is not UTF-8")
    if not verifier.is_valid(text, timestamp, signature):
        return Refusal(401, "a signature that does not match, or a timestamp more than five minutes off")
    parsed = parse(text, headers.get("Content-Type", ""))
    return Refusal(400, f"a signed body that cannot be read ({parsed})") if isinstance(parsed, str) else (text, parsed)


def parse(body: str, content_type: str) -> dict | str:
    """The body as bolt reads it (bot.app hands this to bolt), or why it cannot be read. bolt's
    rules: JSON for application/json or a body starting with "{"; else a form, whose
    `payload` field (interactivity) is JSON. Unlike bolt's parse_body, a form that merely
    contains the word "payload" (a slash command about a JSON payload) stays a form: bolt
    read it as an empty body and the command was lost."""
    if not body.strip():
        return "empty"
    if content_type.split(";")[0].strip().lower() == "application/json" or body.lstrip().startswith(("{", "[")):
        return _object(body)
    form = dict(parse_qsl(body, keep_blank_values=True))
    return _object(form["payload"]) if "payload" in form else form


def _object(text: str) -> dict | str:
    try:
        value: Any = json.loads(text)
    except RecursionError:
        return "nested too deeply"
    except ValueError:
        return "not JSON"
    return value if isinstance(value, dict) else "JSON that is not an object"
