"""The sandbox wired into the app: its settings and clock (made before the services are built),
then its routes (mounted on the same aiohttp application).

Routes, all under the server that runs the bot:
  GET  /                          the page (static/index.html)
  GET  /sandbox/static/...        its CSS, JS and the sample sync-history file
  GET  /sandbox/stream            Server-Sent Events: a snapshot, then every change
  POST /sandbox/say               the person sends a message      {"channel", "text", "thread_ts"?}
  POST /sandbox/click             the person clicks or picks      {"ts", "block_id", "action_id", "option"?}
  POST /sandbox/home              the person opens the bot's Home tab
  POST /sandbox/clock             fast-forward, then run the scheduler's tick   {"step": "1h" | "4h" | "morning"}
  POST /sandbox/digest            post the digest to #qbo-sync now (the daily schedule is untouched)
  POST /sandbox/import-sample     import static/sample-sync-history.csv
  GET  /sandbox/cases             the case list and the tracked sync errors (JSON)
  GET  /sandbox/insights          the Insights view: the admin's report for the last 30 days (HTML
                                  content for the page), /sandbox/insights/report.html the same as
                                  a page of its own, /sandbox/insights.css its stylesheet
  *    /sandbox/slack-api/{method}  Slack's Web API, for the bot's own client
  POST /sandbox/response-url/{channel}  the response_url of clicks (Slack's webhook for replies)
The page's POSTs must be JSON (a form on another site cannot send that without CORS, which
this server never grants).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackApiError

from ..core.schedule.clockwork import Gone
from ..core.cases.digest import build_digest
from ..core.insights.period import last_days
from ..core.insights.render import report_renderer
from ..core.synchistory.ingest import import_csv
from ..core.storage.tables import utcnow
from ..settings import Settings
from . import loopback_origin
from . import workspace as ws
from .cases import case_list
from .clock import STEPS, SandboxClock
from .slack_api import SlackApi, blocks_problem
from .slack_side import SlackSide, Undelivered

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
SAMPLE = STATIC / "sample-sync-history.csv"
API_PATH = "/sandbox/slack-api/"
KEEPALIVE_SECONDS = 15
MAX_TYPED = 40_000
SANDBOX_KEY: web.AppKey["Sandbox"] = web.AppKey("sandbox", object)  # type: ignore[arg-type]
# The page loads only its own files; anything else (an injected script or image) is refused.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
# The report page: its one inline stylesheet, nothing else (it has no script at all).
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def sandbox_settings(settings: Settings, *, token: str, signing_secret: str, api_base_url: str) -> Settings:
    """The only place sandbox credentials are made. Settings from the environment never pass
    through here, so a real deployment keeps every check (check_slack) as it was; the
    sandbox's own channels receive the digest and escalations."""
    return replace(settings, slack_bot_token=token, slack_signing_secret=signing_secret, slack_app_token=None,
                   slack_client_id=None, slack_client_secret=None, slack_api_base_url=api_base_url,
                   digest_channel=ws.QBO_SYNC, digest_team=ws.TEAM, escalation_channel=ws.ESCALATIONS,
                   escalation_usergroup=None)


class Sandbox:
    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = SandboxClock(clock)
        self.tz = settings.digest_tz
        self.workspace = ws.Workspace(self.clock, self.tz)
        token = f"xoxb-sandbox-{secrets.token_hex(12)}"   # made per start: only this process knows it
        signing_secret = secrets.token_hex(32)
        self.api = SlackApi(self.workspace, token)
        self.slack = SlackSide(self.workspace, signing_secret)
        # The bot's Web API client must reach this very server. `python -m bot run` binds its
        # socket before building the app, so the port is known here even for PORT=0. A caller
        # that serves the app on a port chosen later leaves it 0: the first page request then
        # tells us where we are listening (_where), before anything on the page can need it.
        self.origin = loopback_origin(settings.host, settings.port) if settings.port else ""
        self.slack.origin = self.origin
        self.settings = sandbox_settings(settings, token=token, signing_secret=signing_secret,
                                         api_base_url=(self.origin or "http://127.0.0.1:0") + API_PATH)
        self.services: Any = None
        self.restored = timedelta(0)  # how far ahead a previous run had moved the clock

    def mount(self, app: web.Application, services: Any) -> None:
        self.services = services
        restored = self.restored = self.clock.keep_in(services.store)
        if restored:
            hours = restored.total_seconds() / 3600
            print(f"Sandbox clock: {hours:g} hours ahead of real time, as the last run left it "
                  f"(now {self.now()}); delete the database to start from real time", flush=True)
        app[SANDBOX_KEY] = self
        r = app.router
        r.add_get("/", self.page)
        r.add_static("/sandbox/static/", STATIC)
        r.add_get("/sandbox/stream", self.stream)
        r.add_route("*", API_PATH + "{method}", self.api.handle)
        r.add_post("/sandbox/response-url/{channel}", self.response_url)
        r.add_post("/sandbox/say", self.say)
        r.add_post("/sandbox/click", self.click)
        r.add_post("/sandbox/home", self.home)
        r.add_post("/sandbox/clock", self.move_clock)
        r.add_post("/sandbox/digest", self.digest)
        r.add_post("/sandbox/import-sample", self.import_sample)
        r.add_get("/sandbox/cases", self.cases)
        r.add_get("/sandbox/insights", self.insights)
        r.add_get("/sandbox/insights/report.html", self.insights_page)
        r.add_get("/sandbox/insights.css", self.insights_css)
        app.on_shutdown.append(self._shutdown)

    async def _shutdown(self, app: web.Application) -> None:
        self.workspace.close_streams()   # open event streams end, so shutdown need not wait for them
        await self.slack.close()

    def _where(self, request: web.Request) -> None:
        if self.origin:
            return
        host, port = request.transport.get_extra_info("sockname")[:2] if request.transport else ("", 0)
        if not port:
            return
        self.origin = self.slack.origin = loopback_origin(host, port)
        self.services.bolt.client.base_url = self.origin + API_PATH

    def now(self) -> str:
        return self.workspace.label(self.clock())

    # -- the page ----------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.StreamResponse:
        self._where(request)
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store",
                                                                "Content-Security-Policy": CSP})

    async def stream(self, request: web.Request) -> web.StreamResponse:
        self._where(request)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        await response.prepare(request)
        queue = self.workspace.subscribe()
        try:
            await response.write(_event("snapshot", self._snapshot()))
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except asyncio.TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if item is None:
                    break
                kind, data = item
                if kind == "resync":
                    kind, data = "snapshot", self._snapshot()
                await response.write(_event(kind, data))
        except (ConnectionError, RuntimeError):
            pass  # the page went away
        finally:
            self.workspace.unsubscribe(queue)
        return response

    def _snapshot(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"now": self.now(), "tz": self.tz, "sample": "/sandbox/static/" + SAMPLE.name}
        if self.restored:
            extra["clock_restored"] = f"{self.restored.total_seconds() / 3600:g} hours ahead of real time"
        return self.workspace.snapshot(extra)

    # -- what the person does ------------------------------------------------------------------

    async def say(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        channel, text, thread = body.get("channel"), body.get("text"), body.get("thread_ts") or ""
        if channel not in ws.CHANNEL_IDS or not isinstance(text, str) or not isinstance(thread, str):
            raise web.HTTPBadRequest(text="channel (one of the sandbox's) and text are required")
        if not text.strip():
            return _failed("Type something first.")
        if len(text) > MAX_TYPED:
            return _failed(f"That is longer than Slack allows ({MAX_TYPED:,} characters).")
        parent = self.workspace.messages.get(thread) if thread else None
        if thread and (parent is None or parent.channel != channel):
            return _failed("That thread is not in this conversation any more.")
        if parent is not None and parent.thread_ts:
            thread = parent.thread_ts   # a reply to a reply goes to the same thread, as in Slack
        return await self._deliver(self.slack.say(channel, text, thread), "message")

    async def click(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        ts, block_id, action_id = body.get("ts"), body.get("block_id"), body.get("action_id")
        option = body.get("option")
        if not all(isinstance(v, str) for v in (ts, block_id, action_id)) or not isinstance(option, (str, type(None))):
            raise web.HTTPBadRequest(text="ts, block_id and action_id are required")
        return await self._deliver(self.slack.click(ts, block_id, action_id, option), "click")

    async def home(self, request: web.Request) -> web.Response:
        await self._body(request)
        return await self._deliver(self.slack.open_home(), "home")

    async def _deliver(self, work: Any, what: str) -> web.Response:
        try:
            result = await work
        except (Undelivered, aiohttp.ClientError, asyncio.TimeoutError) as exc:
            log.warning("the sandbox could not deliver a %s to the bot: %s", what, exc)
            return _failed("The bot did not take that; see the server log.")
        if result is False:
            return _failed("That button or menu is no longer on the message.")
        return web.json_response({"ok": True, **({"ts": result.ts} if isinstance(result, ws.Message) else {})})

    async def response_url(self, request: web.Request) -> web.Response:
        """A response_url of a click: Slack would show the reply in that conversation."""
        channel = request.match_info["channel"]
        if channel not in ws.CHANNEL_IDS:
            raise web.HTTPNotFound()
        body = await self._body(request)
        blocks = body.get("blocks") or []
        if blocks_problem(blocks):
            return web.Response(status=400, text="invalid_blocks")
        self.workspace.post(channel, ws.BOT_USER, str(body.get("text") or ""), blocks=blocks, bot=True)
        return web.Response(text="ok")

    # -- the controls --------------------------------------------------------------------------

    async def move_clock(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        step = body.get("step")
        if step not in (*STEPS, "morning"):
            raise web.HTTPBadRequest(text=f"step must be one of {', '.join([*STEPS, 'morning'])}")
        await asyncio.to_thread(self.clock.advance, step, self.tz)  # kept in the database
        self.workspace.publish("clock", {"now": self.now()})
        done = await self.services.clockwork.tick()   # what the scheduler would do at this time
        return web.json_response({"ok": True, "now": self.now(), **done})

    async def digest(self, request: web.Request) -> web.Response:
        await self._body(request)
        services = self.services
        notifier = services.notifiers()["slack"]
        digest = await asyncio.to_thread(build_digest, services.store, services.core.catalog, self.clock())
        try:
            for target in notifier.digest_targets():
                await notifier.send_digest(target, digest)
        except (SlackApiError, Gone) as exc:
            log.warning("posting the sandbox digest failed: %s", exc)
            return _failed("Slack refused the digest; see the server log.")
        return web.json_response({"ok": True, "total": digest.total, "groups": len(digest.groups)})

    async def import_sample(self, request: web.Request) -> web.Response:
        await self._body(request)
        services = self.services
        report = await asyncio.to_thread(import_csv, services.store, services.core.engine, SAMPLE,
                                         source_name="sandbox")
        return web.json_response({"ok": True, "file": SAMPLE.name, "report": report.to_json()})

    async def cases(self, request: web.Request) -> web.Response:
        self._where(request)
        services = self.services
        data = await asyncio.to_thread(case_list, services.store, services.core.catalog, self.workspace.label)
        return web.json_response({"now": self.now(), **data})

    # -- insights (the person running the sandbox is its operator: the report shows all) -----------

    async def _report(self) -> Any:
        desk = self.services.desk
        # A fresh one each time (not the App Home's reused one): a conversation just had shows.
        return await asyncio.to_thread(desk.build_report, last_days(self.clock(), self.tz))

    async def insights(self, request: web.Request) -> web.Response:
        self._where(request)
        html = report_renderer(self.services.core.renderer).fragment(await self._report())
        return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-store"})

    async def insights_page(self, request: web.Request) -> web.Response:
        self._where(request)
        html = report_renderer(self.services.core.renderer).html(await self._report())
        return web.Response(text=html, content_type="text/html",
                            headers={"Cache-Control": "no-store", "Content-Security-Policy": REPORT_CSP})

    async def insights_css(self, request: web.Request) -> web.Response:
        css = report_renderer(self.services.core.renderer).stylesheet()
        return web.Response(text=css, content_type="text/css", headers={"Cache-Control": "no-store"})

    async def _body(self, request: web.Request) -> dict[str, Any]:
        self._where(request)
        if request.content_type != "application/json":
            raise web.HTTPUnsupportedMediaType(text="send JSON")
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="the body is not JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="send a JSON object")
        return body


def _failed(message: str) -> web.Response:
    """Something the person should be told: HTTP 200 and ok false, as Slack's own API does."""
    return web.json_response({"ok": False, "error": message})


def _event(kind: str, data: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()
