"""Slack's Web API for the tests of every suite, over real HTTP on 127.0.0.1 (port 0).

The bot's own slack_sdk client talks to it (SLACK_API_BASE_URL), so requests are built,
sent, retried and read exactly as against Slack, as bolt-python's tests do with their one mock
Web API server. It serves:
  /api/{method}     the Web API methods the bot calls (GET query, JSON or form bodies)
  /files/{id}       file downloads (url_private_download), which insist on a bot token
  /upload/{id}      the upload URL files.getUploadURLExternal hands out (files_upload_v2's second
                    step; like Slack's, it takes the raw bytes and no token)
  /response/{hook}  response_url webhooks (slash commands, ephemeral answers)
It records every call (method, parsed body, HTTP status, ok/error, token, time), keeps the
messages posted and updated (so a test can click their buttons), and refuses what Slack
would: an unknown token, a channel the bot is not in, and blocks Slack's Block Kit rules
reject (the same checks as the sandbox's Web API, bot/sandbox/slack_api.py). It answers
conversations.replies and conversations.history from what was posted (message metadata
included when asked for, as Slack does), so a bot can look before it posts again.

Faults, each for one method, in one channel or in all: the next N calls fail with an error or
are rate-limited (HTTP 429 with Retry-After; Slack did nothing), hang (Slack acts on the call,
say stores the post, but the answer never comes until the stand-in stops or `release()`), or
every call answers slowly (Slack takes that long, then acts).

In the test's event loop: `await standin.start()` ... `await standin.stop()`. For tests whose
bot runs in child processes: `with served_in_thread(SlackWebApi()) as standin:` (tests/support.py).
Not the sandbox's Web API (a product feature, answering from its workspace) nor
benchmarks/slack_server.py (bare asyncio, as light as possible): see their docstrings.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from aiohttp import web

from bot.sandbox.slack_api import message_problem, web_api_arguments
from tests.standins.slack_payloads import APP_ID, BOT_ID, BOT_TOKEN, BOT_USER, TEAM, fresh_ts
from tests.support import LoopbackServer, PostedMessages

T = TypeVar("T")
HANG = "hang"   # a queued fault: acted on, never answered
MESSAGE_WRITES = ("chat.postMessage", "chat.update", "chat.postEphemeral")


@dataclass
class Call:
    """One Web API request and what the stand-in answered."""

    method: str
    body: dict[str, Any]
    status: int              # the HTTP status of the answer
    ok: bool                 # its "ok" field
    error: str = ""
    token: str = ""          # the bearer token presented
    http_method: str = "POST"
    at: float = 0.0          # time.time() when it was answered
    response: dict[str, Any] = field(default_factory=dict)


class SlackWebApi(LoopbackServer):
    """A local Slack Web API. `tokens`: the bot tokens it accepts (several processes or
    workspaces can be told apart by theirs); `tz`: the time zone users.info gives every user;
    `delay`: seconds chat.postMessage takes to answer."""

    def __init__(self, *, tokens: tuple[str, ...] = (BOT_TOKEN,), tz: str | None = "America/New_York",
                 delay: float = 0.0) -> None:
        self.tokens = tokens
        self.tz = tz
        self._slow: dict[tuple[str, str | None], float] = {}   # (method, channel or None) -> seconds
        self.calls: list[Call] = []
        self.arrived: list[tuple[str, str]] = []              # (method, token) as each call came in
        self.messages = PostedMessages()                      # ts -> the message as Slack stores it
        self.outside: set[str] = set()                        # channels the bot is not a member of
        self.files: dict[str, tuple[dict[str, Any], bytes]] = {}
        self.file_requests: list[tuple[str, str]] = []       # (file id, Authorization header)
        self.webhook_posts: list[dict[str, Any]] = []        # bodies sent to a response_url
        self.webhook_paths: list[str] = []                   # ...and which response_url each went to
        # (method, channel or None) -> what the next calls get: (status, body, headers) or HANG
        self._queued: dict[tuple[str, str | None], list[Any]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}         # file id -> filename, length, content, shared_to
        self._lock = threading.Lock()   # the test may read from another thread (served_in_thread)
        self._changed = asyncio.Condition()
        self._released: asyncio.Event | None = None   # set: hung calls answer (made in start())
        self._last_ts = 0.0
        if delay:
            self.slow("chat.postMessage", delay)

    # -- control ------------------------------------------------------------------------------

    def _queue(self, method: str, channel: str | None, answers: list[Any]) -> None:
        with self._lock:
            self._queued.setdefault((method, channel), []).extend(answers)

    def fail(self, method: str, error: str, times: int = 1, *, channel: str | None = None,
             status: int = 200) -> None:
        """Answer `method` (in `channel`, if given) with {"ok": false, "error": error} and HTTP
        `status` the next `times` calls (Slack did nothing)."""
        self._queue(method, channel, [(status, {"ok": False, "error": error}, {})] * times)

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1, *, channel: str | None = None) -> None:
        """Answer `method` (in `channel`, if given) with HTTP 429 and Retry-After the next
        `times` calls (Slack did nothing)."""
        self._queue(method, channel,
                    [(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})] * times)

    def hang(self, method: str, times: int = 1, *, channel: str | None = None) -> None:
        """The next `times` calls to `method` (in `channel`, if given) are acted on (a post is
        stored and shows in conversations.history) but never answered, until release() or
        stop(). Recorded with status 0."""
        self._queue(method, channel, [HANG] * times)

    def release(self) -> None:
        """Let every hung call answer now (in the stand-in's own event loop)."""
        if self._released is not None:
            self._released.set()

    def slow(self, method: str, seconds: float, *, channel: str | None = None) -> None:
        """Every call to `method` (in `channel`, if given) takes `seconds` before Slack acts on it
        and answers."""
        with self._lock:
            self._slow[(method, channel)] = seconds

    def add_file(self, file_id: str, content: bytes, **info: Any) -> None:
        """A file files.info describes and /files/{id} serves; `info` overrides its fields."""
        described = {"id": file_id, "name": f"{file_id}.txt", "title": f"{file_id}.txt", "mimetype": "text/plain",
                     "filetype": "text", "pretty_type": "Plain Text", "mode": "snippet", "size": len(content),
                     "url_private": f"{self.base}/files/{file_id}",
                     "url_private_download": f"{self.base}/files/{file_id}", "user": "U0ALICE01", "is_public": True}
        described.update(info)
        self.files[file_id] = (described, content)

    # -- what happened ------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def in_flight(self, method: str, token: str) -> int:
        """How many calls to `method` with `token` have come in and not been answered yet."""
        with self._lock:
            came = sum(1 for m, t in self.arrived if (m, t) == (method, token))
            return came - sum(1 for c in self.calls if (c.method, c.token) == (method, token))

    def attempts(self, method: str) -> list[Call]:
        """Every call to `method`, whatever it was answered."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def accepted(self, method: str) -> list[dict[str, Any]]:
        """Bodies of the calls to `method` answered ok: what Slack would have acted on."""
        return [c.body for c in self.attempts(method) if c.ok]

    def posts(self) -> list[dict[str, Any]]:
        return self.accepted("chat.postMessage")

    def posts_to(self, channel: str) -> list[dict[str, Any]]:
        return [b for b in self.posts() if b.get("channel") == channel]

    def writes(self) -> list[Call]:
        """Every call that would change something a person sees."""
        with self._lock:
            return [c for c in self.calls if c.method in (*MESSAGE_WRITES, "views.publish", "chat.delete")]

    def checkin_calls(self) -> list[Call]:
        """The accepted chat.postMessage calls that carry a check-in (its metadata says so)."""
        return [c for c in self.attempts("chat.postMessage")
                if c.ok and (c.body.get("metadata") or {}).get("event_type") == "sync_checkin"]

    def diagnoses(self) -> list[dict[str, Any]]:
        return self._with_metadata("sync_diagnosis")

    def checkins(self) -> list[dict[str, Any]]:
        return self._with_metadata("sync_checkin")

    def _with_metadata(self, event_type: str) -> list[dict[str, Any]]:
        return [b for b in self.posts() if (b.get("metadata") or {}).get("event_type") == event_type]

    def seen(self, ts: str) -> dict[str, Any]:
        """The message `ts` as a Slack client shows it now (a copy: keep it to click it later,
        the way a client that has not refreshed yet still shows old buttons)."""
        with self._lock:
            return copy.deepcopy(self.messages[ts])

    async def until(self, condition: Callable[[], T], timeout: float = 10.0) -> T:
        """Wait until `condition()` is true (it is checked after every call the stand-in answers)
        and return what it returned. In the stand-in's own event loop only."""
        async def met() -> T:
            async with self._changed:
                return await self._changed.wait_for(condition)

        try:
            return await asyncio.wait_for(met(), timeout)
        except TimeoutError:
            raise AssertionError(f"no call to the Slack stand-in satisfied {condition} in {timeout:g} s") from None

    # -- the server -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._released = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/files/{file_id}", self._file)
        app.router.add_post("/response/{hook}", self._webhook)
        app.router.add_post("/upload/{file_id}", self._upload)
        await self.serve(app)

    async def stop(self) -> None:
        self.release()   # hung calls answer, so the server can shut down
        await super().stop()

    def _next_fault(self, method: str, channel: str | None) -> Any:
        for key in ((method, channel), (method, None)):
            queued = self._queued.get(key)
            if queued:
                return queued.pop(0)
        return None

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await web_api_arguments(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip() or str(body.get("token", ""))
        channel = str(body.get("channel", "")) or None
        with self._lock:
            self.arrived.append((method, token))
            slow = self._slow.get((method, channel), self._slow.get((method, None), 0.0))
        if slow:
            await asyncio.sleep(slow)
        with self._lock:
            fault = self._next_fault(method, channel)
            hung = fault == HANG
            if fault is None or hung:
                status, data, headers = (0 if hung else 200), self._answer(method, body, token), {}
            else:
                status, data, headers = fault
            self.calls.append(Call(method, body, status, bool(data.get("ok")), "(no answer)" if hung else
                                   data.get("error", ""), token, request.method, time.time(), data))
        async with self._changed:
            self._changed.notify_all()
        if hung:
            assert self._released is not None
            await self._released.wait()
        return web.json_response(data, status=status or 200, headers=headers)

    def _answer(self, method: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        if token not in self.tokens:
            return {"ok": False, "error": "invalid_auth"}
        if method in MESSAGE_WRITES:
            if body.get("channel") in self.outside:
                return {"ok": False, "error": "not_in_channel"}
            refused = message_problem(body, update=method == "chat.update")
            if refused:
                return refused
        if method == "auth.test":
            return {"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "syncmedic",
                    "team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID, "is_enterprise_install": False}
        if method == "chat.postMessage":
            ts = self._now_ts()
            message = self.messages.post(body, ts, subtype="bot_message", user=BOT_USER, bot_id=BOT_ID,
                                         app_id=APP_ID, team=TEAM)
            return {"ok": True, "channel": body.get("channel"), "ts": ts, "message": message}
        if method == "chat.update":
            self.messages.update(body)
            return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts"), "text": body.get("text", ""),
                    "message": {"text": body.get("text", ""), "user": BOT_USER, "bot_id": BOT_ID}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": fresh_ts()}
        if method == "chat.delete":
            self.messages.pop(str(body.get("ts", "")), None)
            return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}
        if method == "chat.getPermalink":
            channel, ts = str(body.get("channel", "")), str(body.get("message_ts", ""))
            return {"ok": True, "channel": channel,
                    "permalink": f"https://acme.slack.com/archives/{channel}/p{ts.replace('.', '')}"}
        if method == "conversations.open":
            user = str(body.get("users", "")).split(",")[0]
            return {"ok": True, "channel": {"id": "D" + user[1:]}}
        if method == "users.info":
            return {"ok": True, "user": {"id": body.get("user"), "team_id": TEAM, "tz": self.tz}}
        if method == "views.publish":
            return {"ok": True, "view": {"id": "V0VIEW001", "team_id": TEAM, "type": "home",
                                         "blocks": (body.get("view") or {}).get("blocks", [])}}
        if method in ("conversations.replies", "conversations.history"):
            return self._conversation(method, body)
        if method == "files.getUploadURLExternal":
            return self._upload_url(body)
        if method == "files.completeUploadExternal":
            return self._complete_upload(body)
        if method == "files.info":
            found = self.files.get(str(body.get("file", "")))
            if found is None:
                return {"ok": False, "error": "file_not_found"}
            return {"ok": True, "file": found[0], "comments": [], "response_metadata": {"next_cursor": ""}}
        return {"ok": True}

    def _now_ts(self) -> str:
        """A posted message's ts, as Slack makes it: the time of posting (so after the message it
        answers, which a bot's `oldest` relies on), unique in this stand-in."""
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    def _conversation(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """conversations.replies (a thread, oldest first) and conversations.history (the
        channel's top-level messages, newest first), from what was posted; metadata only with
        include_all_metadata, as Slack does. `oldest`/`latest` bound them (inclusive: Slack
        includes the bounds only when asked; here they always are); no paging."""
        channel = str(body.get("channel", ""))
        if channel in self.outside:
            return {"ok": False, "error": "not_in_channel"}
        oldest, latest = float(body.get("oldest") or 0), float(body.get("latest") or "inf")
        with_metadata = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
        if method == "conversations.replies":
            thread = str(body.get("ts", ""))
            found = [m for ts, m in self.messages.items() if m.get("channel") == channel
                     and thread in (ts, m.get("thread_ts"))]
            found.sort(key=lambda m: float(m["ts"]))
        else:
            found = [m for ts, m in self.messages.items() if m.get("channel") == channel
                     and m.get("thread_ts", ts) == ts]
            found.sort(key=lambda m: float(m["ts"]), reverse=True)
        shown = [{k: v for k, v in m.items() if k != "channel" and (with_metadata or k != "metadata")}
                 for m in found if oldest <= float(m["ts"]) <= latest]
        return {"ok": True, "messages": copy.deepcopy(shown), "has_more": False,
                "response_metadata": {"next_cursor": ""}}

    async def _file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        auth = request.headers.get("Authorization", "")
        with self._lock:
            self.file_requests.append((file_id, auth))
        if auth.removeprefix("Bearer ") not in self.tokens:
            # Slack answers a login page without a token; a plain refusal is stricter.
            return web.Response(status=403, text="forbidden")
        found = self.files.get(file_id)
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found[1], content_type=found[0].get("mimetype") or "application/octet-stream")

    # -- files_upload_v2: get an upload URL, send the bytes there, complete (sharing it) ----------

    def _upload_url(self, body: dict[str, Any]) -> dict[str, Any]:
        filename, length = str(body.get("filename") or ""), str(body.get("length") or "")
        if not filename or not length.isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = "F" + fresh_ts().replace(".", "")[-10:]
        self.uploads[file_id] = {"filename": filename, "length": int(length), "content": None, "shared_to": None}
        return {"ok": True, "upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        content = await request.read()
        with self._lock:
            upload = self.uploads.get(request.match_info["file_id"])
            if upload is None:
                return web.Response(status=404, text="unknown upload")
            if len(content) != upload["length"]:
                return web.Response(status=400, text="length mismatch")
            upload["content"] = content
        async with self._changed:
            self._changed.notify_all()
        return web.Response(text=f"OK - {len(content)}")

    def _complete_upload(self, body: dict[str, Any]) -> dict[str, Any]:
        files = body.get("files")
        if isinstance(files, str):
            files = json.loads(files)
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        done = []
        for item in files:
            upload = self.uploads.get(str(item.get("id", "")))
            if upload is None or upload["content"] is None:
                return {"ok": False, "error": "file_not_found"}
            upload.update(shared_to=body.get("channel_id"), title=item.get("title"),
                          initial_comment=body.get("initial_comment"))
            done.append({"id": item["id"], "title": item.get("title") or upload["filename"],
                         "name": upload["filename"], "size": upload["length"]})
        return {"ok": True, "files": done}

    async def _webhook(self, request: web.Request) -> web.Response:
        posted = await request.json()
        with self._lock:
            self.webhook_posts.append(posted)
            self.webhook_paths.append(request.path)
        return web.Response(text="ok")
