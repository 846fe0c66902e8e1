"""The sandbox's server side without a browser: when it is on, what it exposes, the Slack it
plays (token, signatures, Block Kit limits), and its clock. The app is served in-process on a
port chosen by the OS, so these also cover the sandbox learning its port from the first request."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import ClientSession, web

from bot.app import SERVICES_KEY, create_app
from bot.core.cases.digest import Digest, Group
from bot.core.storage.store import Store
from bot.sandbox import browse_url, loopback_origin, wanted
from bot.sandbox import workspace as ws
from bot.sandbox.clock import SandboxClock, next_morning
from bot.sandbox.server import CSP, SANDBOX_KEY, Sandbox
from bot.sandbox.slack_api import blocks_problem
from bot.sandbox.slack_side import find_element, slack_text
from bot.settings import Settings

DUPLICATE = ("Duplicate Name Exists Error. Another customer, supplier, or employee is already using this name. "
             "Please use a different name.")


# -- when the sandbox is on ---------------------------------------------------------------------

@pytest.mark.parametrize("env, expected", [
    ({}, True),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, False),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, False),
    ({"SLACK_SIGNING_SECRET": "s"}, False),   # half a Slack set-up is an error (check_slack), not a sandbox
    ({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c"}, False),
    ({"MICROSOFT_APP_ID": "00000000-0000-0000-0000-000000000000", "MICROSOFT_APP_PASSWORD": "p"}, False),
])
def test_the_sandbox_is_on_only_without_any_credentials(tmp_path: Path, env: dict, expected: bool) -> None:
    assert wanted(Settings.from_env({"SYNCMEDIC_DATA_DIR": str(tmp_path), **env})) is expected


@pytest.mark.parametrize("host, url", [("0.0.0.0", "http://127.0.0.1:3000/"), ("", "http://127.0.0.1:3000/"),
                                       ("127.0.0.1", "http://127.0.0.1:3000/"), ("::", "http://[::1]:3000/"),
                                       ("::1", "http://[::1]:3000/"), ("localhost", "http://localhost:3000/")])
def test_the_printed_address_reaches_the_server_from_this_machine(host: str, url: str) -> None:
    assert browse_url(host, 3000) == url
    assert loopback_origin(host, 3000) + "/" == url


def test_sandbox_credentials_are_made_per_start_and_leave_real_settings_alone(tmp_path: Path) -> None:
    real = Settings.from_env({"SYNCMEDIC_DATA_DIR": str(tmp_path), "PORT": "4000", "HOST": "0.0.0.0"})
    one, two = Sandbox(real), Sandbox(real)
    for made in (one.settings, two.settings):
        assert made.slack_mode == "http"
        made.check_slack()
        assert made.slack_api_base_url == "http://127.0.0.1:4000/sandbox/slack-api/"
        assert made.digest_channel == ws.QBO_SYNC and made.escalation_channel == ws.ESCALATIONS
    assert one.settings.slack_bot_token != two.settings.slack_bot_token
    assert one.settings.slack_signing_secret != two.settings.slack_signing_secret
    assert real.slack_mode is None and real.slack_bot_token is None  # the environment's settings are untouched


# -- the app in sandbox mode --------------------------------------------------------------------

class Running:
    def __init__(self, base: str, app: web.Application, session: ClientSession) -> None:
        self.base = base
        self.app = app
        self.session = session
        self.sandbox: Sandbox = app[SANDBOX_KEY] if SANDBOX_KEY in app else None  # type: ignore[assignment]
        self.services = app[SERVICES_KEY]

    async def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        async with self.session.post(self.base + path, json=body if body is not None else {}, **kw) as resp:
            text = await resp.text()
            return resp.status, json.loads(text) if resp.content_type == "application/json" else text

    async def get(self, path: str) -> tuple[int, str, dict]:
        async with self.session.get(self.base + path) as resp:
            return resp.status, await resp.text(), dict(resp.headers)

    async def bot_says(self, count: int, timeout: float = 20) -> list[ws.Message]:
        """The bot's messages, once there are `count` of them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            said = [m for m in self.sandbox.workspace.messages.values() if m.bot and m.channel != ws.QBO_SYNC]
            if len(said) >= count or loop.time() > deadline:
                return sorted(said, key=lambda m: m.seq)
            await asyncio.sleep(0.05)


@pytest_asyncio.fixture
async def serve(tmp_path: Path, core) -> AsyncIterator[Any]:
    runners: list[web.AppRunner] = []
    stores: list[Store] = []
    session = ClientSession()

    async def start(sandbox: bool = True, database: str = "") -> Running:
        database = database or f"db{len(stores)}.sqlite"
        settings = Settings.from_env({"SYNCMEDIC_DATA_DIR": str(tmp_path / "data"), "PORT": "0",
                                      "DATABASE_URL": f"sqlite:///{tmp_path / database}"})
        store = Store.from_url(settings.database_url)
        stores.append(store)
        app = create_app(settings, core, store, background=False, sandbox=sandbox)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return Running(f"http://127.0.0.1:{port}", app, session)

    yield start
    await session.close()
    for runner in runners:
        await asyncio.wait_for(runner.cleanup(), 30)
    for store in stores:
        store.engine.dispose()


async def test_a_message_from_the_page_goes_through_the_real_slack_edge(serve) -> None:
    bot = await serve()
    status, page, headers = await bot.get("/")
    assert status == 200 and "<title>SyncMedic sandbox</title>" in page
    assert headers["Content-Security-Policy"] == CSP
    # The port was 0 when the app was built: the first request told the sandbox where it is.
    assert bot.services.bolt.client.base_url == bot.base + "/sandbox/slack-api/"

    status, sent = await bot.post("/sandbox/say", {"channel": ws.DM, "text": DUPLICATE})
    assert (status, sent["ok"]) == (200, True)
    [answer] = await bot.bot_says(1)
    assert answer.channel == ws.DM and answer.thread_ts == ""       # a DM is answered in the DM, unthreaded
    assert answer.metadata["event_type"] == "sync_diagnosis"
    payload = answer.metadata["event_payload"]
    assert payload["intent"] == "duplicate_name"

    # A click is a signed block_actions request; the bot settles the message through chat.update.
    # Clicked as soon as the answer shows: it may beat the case's write, and must still find it.
    status, clicked = await bot.post("/sandbox/click", {"ts": answer.ts, "block_id": "syncmedic_feedback",
                                                        "action_id": "syncmedic_fixed"})
    assert clicked == {"ok": True}
    await asyncio.wait_for(bot.services.slack.drain(), 20)
    case = bot.services.store.get_case(payload["case_id"])
    assert (case.platform, case.workspace, case.channel, case.user, case.message) == (
        "slack", ws.TEAM, ws.DM, ws.YOU, sent["ts"])
    assert case.status == "resolved" and case.reply_ref == answer.ts
    assert find_element(answer.blocks, "syncmedic_feedback", "syncmedic_fixed") is None
    assert "Marked fixed by <@U0YOU>" in json.dumps(answer.blocks)
    status, again = await bot.post("/sandbox/click", {"ts": answer.ts, "block_id": "syncmedic_feedback",
                                                      "action_id": "syncmedic_fixed"})
    assert again["ok"] is False   # the button is gone


async def test_the_stream_starts_with_a_snapshot(serve) -> None:
    bot = await serve()
    await bot.post("/sandbox/say", {"channel": ws.DM, "text": "hello"})
    async with bot.session.get(bot.base + "/sandbox/stream") as resp:
        assert resp.content_type == "text/event-stream"
        assert (await resp.content.readline()).decode() == "event: snapshot\n"
        data = json.loads((await resp.content.readline()).decode().removeprefix("data: "))
    assert [c["id"] for c in data["channels"]] == [ws.QBO_SYNC, ws.ESCALATIONS, ws.DM]
    assert data["messages"][0]["text"] == "hello" and data["messages"][0]["author"] == "You"
    assert data["tz"] == "UTC" and data["sample"].endswith("/sample-sync-history.csv")


async def test_the_controls(serve) -> None:
    bot = await serve()
    status, moved = await bot.post("/sandbox/clock", {"step": "4h"})
    assert status == 200 and moved["ok"] and moved["checkins"] == 0
    assert bot.sandbox.clock.offset.total_seconds() == pytest.approx(4 * 3600, abs=1)
    status, imported = await bot.post("/sandbox/import-sample")
    report = imported["report"]
    assert report["errors_tracked"] == 13 and report["problems_total"] == 0
    # Every row read is in exactly one bucket (the page's toast lists them all, so they add up).
    buckets = ("errors_tracked", "updated", "unchanged", "reopened", "resolved", "skipped", "problems_total")
    assert sum(report[b] for b in buckets) == report["rows_read"] == 17
    status, posted = await bot.post("/sandbox/digest")
    assert posted == {"ok": True, "total": 12, "groups": 10}
    # The last one: moving the clock may also have brought the daily digest, depending on the hour.
    digest = max((m for m in bot.sandbox.workspace.messages.values() if m.channel == ws.QBO_SYNC),
                 key=lambda m: m.seq)
    assert digest.bot and digest.blocks[0]["text"]["text"] == "Sync errors still open: 12"
    status, listed, _ = await bot.get("/sandbox/cases")
    listed = json.loads(listed)
    assert listed["cases"] == [] and len(listed["sync_errors"]) == 13
    assert {e["status"] for e in listed["sync_errors"]} == {"open", "resolved"}


async def test_a_restarted_sandbox_keeps_its_clock(serve) -> None:
    """Cases are stamped with the sandbox's moved clock: a restart must not go back before them."""
    first = await serve(database="kept.sqlite")
    await first.post("/sandbox/clock", {"step": "4h"})
    await first.post("/sandbox/clock", {"step": "1h"})
    moved = first.sandbox.clock.offset
    again = await serve(database="kept.sqlite")
    assert again.sandbox.clock.offset == moved and moved.total_seconds() == pytest.approx(5 * 3600, abs=2)
    async with again.session.get(again.base + "/sandbox/stream") as resp:
        await resp.content.readline()
        data = json.loads((await resp.content.readline()).decode().removeprefix("data: "))
    assert data["clock_restored"] == "5 hours ahead of real time"  # the page says so
    fresh = await serve()
    assert fresh.sandbox.clock.offset.total_seconds() == 0


async def test_the_page_endpoints_refuse_what_a_page_would_not_send(serve) -> None:
    bot = await serve()
    async with bot.session.post(bot.base + "/sandbox/say", data={"channel": ws.DM, "text": "x"}) as resp:
        assert resp.status == 415   # a form from another site cannot post JSON without CORS
    assert (await bot.post("/sandbox/say", {"channel": "C0NOPE", "text": "x"}))[0] == 400
    assert (await bot.post("/sandbox/say", {"channel": ws.DM, "text": "   "}))[1]["ok"] is False
    assert (await bot.post("/sandbox/say", {"channel": ws.DM, "text": "x", "thread_ts": "1.2"}))[1]["ok"] is False
    assert (await bot.post("/sandbox/clock", {"step": "10y"}))[0] == 400
    assert (await bot.post("/sandbox/click", {"ts": "1.2", "block_id": "b", "action_id": "a"}))[1]["ok"] is False
    assert (await bot.post("/sandbox/click", {"ts": 1}))[0] == 400
    assert (await bot.post("/sandbox/response-url/C0NOPE", {"text": "x"}))[0] == 404
    async with bot.session.post(bot.base + f"/sandbox/response-url/{ws.DM}", data='{"text": "x"}',
                                headers={"Content-Type": "text/plain"}) as resp:
        assert resp.status == 415
    assert (await bot.post(f"/sandbox/response-url/{ws.DM}", {"blocks": [{"type": "divider"}] * 51}))[0] == 400
    assert not bot.sandbox.workspace.messages


async def test_the_bot_still_checks_slack_signatures(serve) -> None:
    bot = await serve()
    await bot.get("/")
    body = json.dumps({"type": "event_callback", "team_id": ws.TEAM, "event": {"type": "message"}})
    async with bot.session.post(bot.base + "/slack/events", data=body, headers={
            "Content-Type": "application/json", "X-Slack-Request-Timestamp": "1700000000",
            "X-Slack-Signature": "v0=" + "0" * 64}) as resp:
        assert resp.status == 401


async def test_the_web_api_wants_the_bot_token(serve) -> None:
    bot = await serve()
    async with bot.session.post(bot.base + "/sandbox/slack-api/chat.postMessage",
                                json={"channel": ws.QBO_SYNC, "text": "spoofed"},
                                headers={"Authorization": "Bearer xoxb-sandbox"}) as resp:
        assert await resp.json() == {"ok": False, "error": "invalid_auth"}
    token = bot.services.settings.slack_bot_token
    async with bot.session.post(bot.base + "/sandbox/slack-api/admin.users.list",
                                headers={"Authorization": f"Bearer {token}"}) as resp:
        assert await resp.json() == {"ok": False, "error": "unknown_method"}
    assert not bot.sandbox.workspace.messages


async def test_without_the_sandbox_nothing_of_it_is_served(serve) -> None:
    bot = await serve(sandbox=False)
    for path in ("/", "/sandbox/stream", "/sandbox/static/sandbox.js", "/sandbox/cases"):
        assert (await bot.get(path))[0] == 404
    assert (await bot.post("/sandbox/slack-api/auth.test"))[0] == 404
    assert bot.services.slack is None


# -- pieces -----------------------------------------------------------------------------------------

def test_typed_text_is_sent_as_slack_sends_it() -> None:
    assert slack_text("a & b <c> @SyncMedic @syncmedic, mail me@syncmedic.test") == (
        f"a &amp; b &lt;c&gt; <@{ws.BOT_USER}> <@{ws.BOT_USER}>, mail me@syncmedic.test")


def test_every_reply_the_bot_renders_is_valid_block_kit(core) -> None:
    renderer = core.renderer
    for intent in core.catalog.ids:
        payload = renderer.slack(core.engine.answer_for(intent), "3b7c3f4e-0000-4000-8000-000000000000")
        assert blocks_problem(payload["blocks"]) is None, intent
        assert blocks_problem(renderer.checkin("slack", "case", intent)["blocks"]) is None, intent
    now = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
    groups = [Group(i, core.catalog.title(i), core.catalog[i].summary, 60, now, [f"Sale SO-{n}" for n in range(60)])
              for i in core.catalog.ids]
    assert blocks_problem(renderer.digest("slack", Digest(now, groups))["blocks"]) is None
    assert blocks_problem(renderer.digest("slack", Digest(now, []))["blocks"]) is None


@pytest.mark.parametrize("blocks, problem", [
    ([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "text longer than 3000"),
    ([{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}], "must be plain_text"),
    ([{"type": "divider"}] * 51, "more than 50 blocks"),
    ([{"type": "actions", "elements": []}], "1 to 25 elements"),
    ([{"type": "actions", "elements": [{"type": "button", "action_id": "a", "text": {"text": "x" * 76}}]}],
     "button text longer than 75"),
    ([{"type": "actions", "elements": [{"type": "button", "action_id": "a", "text": {"text": "x"}},
                                       {"type": "button", "action_id": "a", "text": {"text": "y"}}]}], "used twice"),
    ([{"type": "section", "text": {"type": "mrkdwn", "text": "x"},
       "accessory": {"type": "static_select", "action_id": "m", "options": []}}], "1 to 100 options"),
    ([{"text": "no type"}], "has no type"),
])
def test_blocks_slack_would_refuse_are_refused(blocks: list, problem: str) -> None:
    assert problem in (blocks_problem(blocks) or "")


def test_the_clock_only_moves_forward_by_named_steps() -> None:
    start = datetime(2026, 3, 27, 7, 30, tzinfo=timezone.utc)
    clock = SandboxClock(lambda: start)
    assert clock() == start
    assert clock.advance("1h") == datetime(2026, 3, 27, 8, 30, tzinfo=timezone.utc)
    assert clock.advance("4h") == datetime(2026, 3, 27, 12, 30, tzinfo=timezone.utc)
    assert clock.advance("morning", "Europe/London") == datetime(2026, 3, 28, 9, 0, tzinfo=timezone.utc)
    # The clocks go forward in London that night: 09:00 is then 08:00 UTC.
    assert clock.advance("morning", "Europe/London") == datetime(2026, 3, 29, 8, 0, tzinfo=timezone.utc)
    with pytest.raises(KeyError):
        clock.advance("-1h")


def test_next_morning_is_today_before_nine_and_tomorrow_from_nine() -> None:
    at = lambda h, m=0: datetime(2026, 3, 2, h, m, tzinfo=timezone.utc)  # noqa: E731
    assert next_morning(at(8, 59), "UTC") == at(9)
    assert next_morning(at(9), "UTC") == datetime(2026, 3, 3, 9, tzinfo=timezone.utc)
    assert next_morning(at(23), "America/New_York") == datetime(2026, 3, 3, 14, tzinfo=timezone.utc)
