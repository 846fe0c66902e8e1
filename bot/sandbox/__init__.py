"""The local sandbox: a small Slack-like workspace in the browser, served at `/` by
`python -m bot run` when no Slack or Teams credentials are set.

It is not a second bot. The real Slack edge (bolt app, handlers, buttons, notifier) runs with
credentials made up at start-up, and the sandbox plays Slack on both sides of it:
- toward the bot it is Slack's Web API (`workspace.py` keeps the messages, `slack_api.py`
  answers chat.postMessage and friends under /sandbox/slack-api/);
- toward the bot's /slack/events it is Slack's servers (`slack_side.py` turns what the person
  does on the page into signed Events API and interactivity payloads);
- toward the person it is a Slack client (`static/`: plain HTML, CSS and JS, no build step).
Time is a clock the page can move forward (`clock.py`); `server.py` wires it all into the app.

Importing this package loads nothing heavy: create_app imports `server` only in sandbox mode.
"""

from __future__ import annotations

from typing import Any


def wanted(settings: Any) -> bool:
    """Sandbox mode: no Slack credentials of any kind and no Teams (Bot Framework) app id."""
    teams = getattr(settings, "microsoft_app_id", None)
    return settings.slack_mode is None and not settings.slack_oauth and not teams


def browse_url(host: str, port: int) -> str:
    """Where a person on this machine opens the sandbox."""
    return loopback_origin(host, port) + "/"


def loopback_origin(host: str, port: int) -> str:
    """http://ADDRESS:PORT that reaches a server bound to `host` from this machine: a wildcard
    bind (0.0.0.0, ::, empty) is reached over loopback."""
    if host in ("", "0.0.0.0", "*"):
        address = "127.0.0.1"
    elif host == "::":
        address = "[::1]"
    elif ":" in host and not host.startswith("["):
        address = f"[{host}]"
    else:
        address = host
    return f"http://{address}:{port}"
