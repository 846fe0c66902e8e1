"""create_app(settings, ...) -> the aiohttp application: the composition root.

One process serves everything: Slack's Events API at /slack/events (HTTP mode) or a Socket
Mode connection, /healthz, and the background loop that answers messages a crashed
process had acknowledged but not answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from aiohttp import web

from .core.schedule.clockwork import Clockwork, DigestPlan, start_scheduler
from .core.desk import Desk
from .core.cases.followups import Followups
from .core.storage.modelshelf import ModelShelf
from .core.storage.store import Store
from .core.storage.tables import utcnow
from .health import CHECK_TIMEOUT_S, DatabaseHealth
from .modelwatch import ModelWatch
from .settings import Settings
from .wiring import Core

log = logging.getLogger(__name__)

SLACK_SCOPES = ["app_mentions:read", "channels:history", "groups:history", "im:history", "mpim:history",
                "chat:write", "commands", "files:read", "files:write", "im:write", "users:read"]
CORE_KEY: web.AppKey[Core] = web.AppKey("core", Core)
SERVICES_KEY: web.AppKey["Services"] = web.AppKey("services", object)  # type: ignore[arg-type]


@dataclass
class Services:
    """What create_app wired up, for the routes, start-up hooks and tests."""

    settings: Settings
    core: Core
    store: Store
    desk: Desk
    followups: Followups
    slack: Any = None             # bot.slack.SlackEdge when Slack is configured
    teams: Any = None             # bot.teams.edge.TeamsEdge unless TEAMS=off
    bolt: Any = None              # slack_bolt AsyncApp
    slack_verifier: Any = None    # slack_sdk SignatureVerifier for /slack/events (HTTP mode)
    socket_mode: Any = None
    clockwork: Clockwork | None = None
    scheduler: Any = None         # APScheduler, when this process runs the scheduler
    http: Any = None              # the shared aiohttp.ClientSession for Slack's Web API
    model_watch: Any = None       # bot.modelwatch.ModelWatch: this process on the model in use
    health: Any = None            # bot.health.DatabaseHealth: whether the database still takes writes
    sandbox: bool = False         # Slack is played by the local sandbox (no credentials)
    tasks: list[asyncio.Task] = field(default_factory=list)

    def notifiers(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.slack is not None:
            from .slack.notify import SlackNotifier

            found["slack"] = SlackNotifier(self.slack, self.settings.digest_channel, self.settings.digest_team)
        if self.teams is not None:
            from .teams.notify import TeamsNotifier

            found["teams"] = TeamsNotifier(self.teams)
        return found


def build_slack(settings: Settings, services: Services, slack_client: Any = None) -> None:
    """Create the bolt app and the Slack edge (no network yet: bolt's auth.test runs lazily)."""
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings

    from .slack.buttons import Buttons, Escalation
    from .slack.clients import Installations, SingleWorkspace, make_client, set_sdk_log_level
    from .slack.edge import SlackEdge
    from .slack.handlers import register
    from .slack.oauth import ThreadedInstallationStore, ThreadedStateStore

    settings.check_slack()
    bolt_logger = logging.getLogger("slack_bolt")
    if settings.log_level != "DEBUG":  # bolt logs whole payloads at DEBUG; keep customers' text out of logs
        bolt_logger.setLevel(logging.WARNING)
    set_sdk_log_level(getattr(logging, settings.log_level, logging.INFO))
    # Our listeners never use bolt's say/set_status helpers: no middleware attaching them to
    # every event.
    common = dict(signing_secret=settings.slack_signing_secret or "", process_before_response=True,
                  logger=bolt_logger, attaching_conversation_kwargs_enabled=False)
    if settings.slack_oauth:
        installations = ThreadedInstallationStore(settings.slack_client_id or "", services.store.engine)
        bolt = AsyncApp(client=slack_client or make_client(None, settings.slack_api_base_url,
                                                           deadline=settings.deadline_seconds),
                        oauth_settings=AsyncOAuthSettings(
                            client_id=settings.slack_client_id, client_secret=settings.slack_client_secret,
                            scopes=SLACK_SCOPES, installation_store=installations,
                            state_store=ThreadedStateStore(services.store.engine)), **common)
        bolt.enable_token_revocation_listeners()  # uninstall / revoke deletes that workspace's tokens
        clients: Any = Installations(installations, settings.slack_api_base_url, settings.deadline_seconds)
    else:
        client = slack_client or make_client(settings.slack_bot_token, settings.slack_api_base_url,
                                             deadline=settings.deadline_seconds)
        bolt = AsyncApp(client=client, **common)
        clients = SingleWorkspace(client)
    edge = SlackEdge(services.desk, services.core.renderer, services.core.phrases, services.store, clients,
                     api_base_url=settings.slack_api_base_url, file_max_bytes=settings.slack_file_max_bytes,
                     retry_after_seconds=settings.event_retry_after.total_seconds(),
                     deadline_seconds=settings.deadline_seconds)
    buttons = Buttons(services.desk, edge.db, services.core.renderer, edge.say, edge.post,
                      Escalation(settings.escalation_channel, settings.escalation_usergroup))
    register(bolt, edge, buttons)

    # Registered last, so only what no listener above takes: an event type or action the bot has
    # no use for (Slack adds new ones) is acknowledged and ignored. bolt would answer 404 and
    # log a suggestion of code to write, and Slack retries failed deliveries.
    @bolt.event(re.compile(".*"))
    async def ignore_other_events() -> None:
        return None

    @bolt.action(re.compile(".*"))
    async def ignore_other_actions(ack: Any) -> None:
        await ack()

    services.slack, services.bolt = edge, bolt
    if settings.slack_signing_secret:
        from slack_sdk.signature import SignatureVerifier

        services.slack_verifier = SignatureVerifier(settings.slack_signing_secret)


async def _slack_events(request: web.Request) -> web.StreamResponse:
    """POST /slack/events: the signature is checked from the raw bytes before anything parses
    the body (bot/slack/inbound.py); a refusal is one log line, never a traceback."""
    from slack_bolt.adapter.aiohttp import to_aiohttp_response
    from slack_bolt.request.async_request import AsyncBoltRequest

    from .slack.inbound import Refusal, check

    services: Services = request.app[SERVICES_KEY]
    raw = await request.read()
    if len(raw) > 3_000_000:
        return web.Response(status=413, text="payload too large")
    checked = check(services.slack_verifier, request.headers, raw)
    if isinstance(checked, Refusal):
        log.warning("refused a request to /slack/events from %s: %s", request.remote, checked.reason)
        return web.Response(status=checked.status,
                            text="invalid request" if checked.status == 400 else "unauthorized")
    text, body = checked
    bolt_request = AsyncBoltRequest(body=text, query=request.query_string,
                                    headers=request.headers)  # type: ignore[arg-type]
    bolt_request.body = body  # as bolt reads it, without its lost-slash-command quirk (inbound.parse)
    return await to_aiohttp_response(await services.bolt.async_dispatch(bolt_request))


async def _slack_oauth(request: web.Request) -> web.StreamResponse:
    """GET /slack/install and /slack/oauth_redirect: bolt's OAuth flow (browsers, not Slack's
    signed requests)."""
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

    services: Services = request.app[SERVICES_KEY]
    return await to_aiohttp_response(await services.bolt.async_dispatch(await to_bolt_request(request)))


async def _healthz(request: web.Request) -> web.Response:
    """200 while this process can keep what it is told: the database answers, and a SQLite file
    is still the one it opened (bot/health.py); 503 with the reason otherwise."""
    services: Services = request.app[SERVICES_KEY]
    try:
        problem = await asyncio.wait_for(asyncio.to_thread(services.health.check), CHECK_TIMEOUT_S)
    except TimeoutError:
        problem = f"the database did not answer within {CHECK_TIMEOUT_S:g} s"
        services.health.note(problem)
    ok = problem is None
    meta = services.core.model_meta
    body = {"status": "ok" if ok else "unavailable", "ok": ok, "pid": os.getpid(),
            **({"database": problem} if problem else {}),
            "slack": "sandbox" if services.sandbox else services.settings.slack_mode or "off",
            "teams": services.settings.teams_mode or "off",
            # The model this process serves: the same fingerprint everywhere once a new one is published.
            "model": {"built_at": meta.get("built_at"), "fingerprint": meta.get("fingerprint"),
                      "cv_accuracy": meta.get("cv_accuracy")}}
    return web.json_response(body, status=200 if ok else 503)


# What the platforms deliver again when refused (Slack retries an event, Teams an activity, an
# import client its POST): refused while the SQLite file is not the one this process opened.
_WRITING_PATHS = frozenset({"/slack/events", "/api/messages", "/api/sync-errors"})


@web.middleware
async def _refuse_writes_without_a_database(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path in _WRITING_PATHS:
        services: Services = request.app[SERVICES_KEY]
        problem = services.health.file_problem()
        if problem is not None:
            services.health.note(problem)
            return web.json_response({"error": "the bot cannot store anything right now; try again later"},
                                     status=503, headers={"Retry-After": "60"})
    return await handler(request)


async def _recovery_loop(services: Services) -> None:
    """Answer what a crashed process acknowledged but never answered; retention purge too."""
    period = max(1.0, services.settings.event_retry_after.total_seconds() / 2)
    steps = [step for step in (services.slack and services.slack.recover, services.teams and services.teams.recover,
                               partial(asyncio.to_thread, services.store.purge, services.settings.retention)) if step]
    while True:
        # Side by side, each on its own: a slow Teams recovery (throttled sends) must not hold
        # up Slack's, and one failing must not skip the others.
        for step, outcome in zip(steps, await asyncio.gather(*(step() for step in steps), return_exceptions=True)):
            if isinstance(outcome, Exception):
                log.error("recovery step %s failed; the next round retries", getattr(step, "__qualname__", step),
                          exc_info=outcome)
        await asyncio.sleep(period)


def build_services(settings: Settings, core: Core, store: Store, *, slack_client: Any = None,
                   clock: Any = utcnow) -> Services:
    """Everything but the HTTP server: shared by `run` and the `scheduler` clock process."""
    followups = Followups(store, settings.followup_after, settings.followup_max,
                          claim_lease=settings.event_retry_after)

    def retrain() -> dict:
        from .wiring import retrain as retrain_core

        return retrain_core(settings, core, store)

    hours = settings.business_hours
    desk = Desk(core.engine, store, followups=followups, escalate_after=settings.escalate_after, clock=clock,
                hours=hours, default_tz=settings.digest_tz, admin_users=settings.admin_users, retrain=retrain,
                retention=settings.retention)
    services = Services(settings, core, store, desk, followups)
    services.model_watch = ModelWatch(core, ModelShelf(store.engine), settings.model_check_interval)
    services.health = DatabaseHealth(store)
    if settings.slack_mode:
        build_slack(settings, services, slack_client)
    if settings.teams_mode:
        from .teams import build_teams

        services.teams = build_teams(settings, desk, core.renderer, core.phrases, store)
    digest = None
    if settings.digest_channel or services.teams is not None:  # Teams: channels that said "digest here"
        digest = DigestPlan(settings.digest_time, settings.digest_tz, settings.digest_days, settings.digest_all_clear)
    services.clockwork = Clockwork(
        store, core.catalog, followups, services.notifiers(),
        hours=hours, digest=digest, default_tz=settings.digest_tz, clock=clock,
        tick_wait=settings.scheduler_interval,   # a slower conversation goes on after the tick
        monthly=monthly_reports(settings, services) if digest is not None and settings.report_monthly else None)
    return services


def monthly_reports(settings: Settings, services: Services) -> Any:
    """REPORT_MONTHLY: last month's summary to every digest target (bot/core/schedule/monthly.py)."""
    from .core.schedule.monthly import MonthlyReports

    senders: dict[str, Any] = {}
    if services.slack is not None:
        from .slack.reports import SlackReports

        slack = SlackReports(services.desk, services.core.renderer, services.slack.say)

        async def to_slack(target: str, report: Any) -> str:
            client, _ = await services.slack.clients.for_team(settings.digest_team or "")
            return await slack.post_monthly(client, settings.digest_channel or "", report)

        senders["slack"] = to_slack
    if services.teams is not None:
        from .teams.reports import post_monthly

        senders["teams"] = lambda target, report: post_monthly(services.teams, target, report)
    return MonthlyReports(services.store, services.desk.build_report, senders, settings.digest_time,
                          settings.digest_tz, settings.digest_days)


def create_app(settings: Settings, core: Core, store: Store, *, slack_client: Any = None,
               background: bool = True, clock: Any = utcnow, sandbox: bool = False) -> web.Application:
    """`sandbox=True` (python -m bot run without credentials) serves the local sandbox at `/`:
    the real Slack edge, with made-up credentials, talking to a Slack played by bot.sandbox."""
    local = None
    if sandbox:
        from .sandbox.server import Sandbox

        local = Sandbox(settings, clock)
        settings, clock = local.settings, local.clock
        store.clock = clock  # cases, events and imports are stamped with the time the page shows
    services = build_services(settings, core, store, slack_client=slack_client, clock=clock)
    services.sandbox = local is not None
    app = web.Application(client_max_size=3_000_000, middlewares=[_refuse_writes_without_a_database])
    app[SERVICES_KEY] = services
    app.router.add_get("/healthz", _healthz)
    if settings.ingest_token:  # unset: the endpoint is off
        from .ingest_api import sync_errors_handler

        app.router.add_post("/api/sync-errors", sync_errors_handler(
            lambda: services.store, lambda: services.core.engine, settings.ingest_token))
    if local is not None:
        local.mount(app, services)
    if services.teams is not None:
        app.router.add_post("/api/messages", services.teams.handle)
    if settings.slack_mode:
        if settings.slack_mode == "http":
            app.router.add_post("/slack/events", _slack_events)
            if settings.slack_oauth:
                app.router.add_get("/slack/install", _slack_oauth)
                app.router.add_get("/slack/oauth_redirect", _slack_oauth)

    async def start(app: web.Application) -> None:
        await asyncio.to_thread(core.renderer.warm_up)
        try:  # a worker forked from a parent that loaded an older model serves the newest from the start
            await asyncio.to_thread(services.model_watch.refresh)
        except Exception as exc:  # noqa: BLE001 - the database may be down: the watch retries
            log.error("could not look for a newer model: %s", type(exc).__name__, exc_info=exc)
        if services.bolt is not None:
            # One connection pool for every Web API call (bolt's per-request clients share it),
            # each call within OUTBOUND_DEADLINE.
            from .slack.clients import web_session

            services.http = web_session(settings.deadline_seconds)
            services.bolt.client.session = services.http
            if hasattr(services.slack.clients, "session"):
                services.slack.clients.session = services.http
        if background:
            services.tasks.append(asyncio.create_task(_recovery_loop(services)))
            services.tasks.append(asyncio.create_task(services.model_watch.run()))
            services.tasks.append(asyncio.create_task(services.health.watch()))
            if settings.scheduler and services.clockwork is not None:
                services.scheduler = start_scheduler(services.clockwork.tick, settings.scheduler_interval)
        if settings.slack_mode == "socket":
            from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

            services.socket_mode = AsyncSocketModeHandler(services.bolt, settings.slack_app_token)
            await services.socket_mode.connect_async()

    async def stop(app: web.Application) -> None:
        if services.scheduler is not None:
            services.scheduler.shutdown(wait=False)
        if services.clockwork is not None:
            await services.clockwork.close()
        for task in services.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if services.socket_mode is not None:
            await services.socket_mode.close_async()
        if services.slack is not None:
            await services.slack.close()
        if services.teams is not None:
            await services.teams.leases.close()
        if services.http is not None:
            await services.http.close()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return app
