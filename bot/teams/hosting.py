"""The Microsoft 365 Agents SDK wiring: the CloudAdapter, who may call /api/messages, and the
connector clients for messages the bot starts itself.

Two modes, chosen by MICROSOFT_APP_ID:
- credentialed: every request must carry a Bot Framework token that the SDK's public
  JwtTokenValidator accepts (signature against Microsoft's published keys, audience = our app
  id, issuer = Bot Framework or our tenant: VALIDATE_ISSUER, which the SDK leaves off unless
  asked). If the keys cannot be fetched, or anything else goes wrong while checking, the request
  is refused (401). (The SDK's own jwt_authorization_middleware/decorator does the same check
  but reads its configuration from a plain-string app key, lets unexpected errors through as
  500s and checks tokens in local mode too; its helper _authorize_request is private.)
  The SDK's OutboundHostValidator only accepts serviceUrls on Microsoft's hosts over HTTPS.
- local (no app id): no tokens, so requests are accepted only from this machine (and not
  through a proxy), and serviceUrls must point at this machine too (the Bot Framework
  Emulator, or a test's stand-in connector). The SDK's validator refuses loopback by design,
  so local mode swaps in one that allows loopback and nothing else.
"""

from __future__ import annotations

import ipaddress
import logging
import warnings
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from yarl import URL

from microsoft_agents.activity import Activity
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import (AgentAuthConfiguration, AnonymousTokenProvider, AuthenticationConstants,
                                           ClaimsIdentity, ConnectionManager, JwtTokenValidator,
                                           OutboundHostValidator, RestChannelServiceClientFactory)

from ..settings import Settings
from .connector import Backoff, ConversationGone, with_retries
from .translate import Conversation

log = logging.getLogger(__name__)
MAX_BODY = 512_000  # Teams activities are limited to about 100 KB; leave room, refuse the absurd
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class LocalConnectorOnly(OutboundHostValidator):
    """Local mode's serviceUrl rule: this machine only (the emulator or a stand-in connector)."""

    def __init__(self) -> None:
        super().__init__(enabled=True, include_default_microsoft_hosts=False)

    def is_allowed(self, url: str | URL) -> bool:
        try:
            parsed = URL(url) if isinstance(url, str) else url
        except (TypeError, ValueError):
            return False
        return (parsed.scheme in ("http", "https") and not parsed.user and not parsed.password
                and is_loopback_host(parsed.host))


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None for anything else."""
    scheme, _, token = (header or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or any(char.isspace() for char in token):
        return None
    return token


def is_local_request(request: web.Request) -> bool:
    """From this machine, and not relayed by a proxy on it (a proxy makes every caller look local)."""
    if any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    return is_loopback_host(request.remote)


@dataclass
class Hosting:
    mode: str                                   # "credentialed" or "local"
    app_id: str
    auth: AgentAuthConfiguration
    adapter: CloudAdapter
    factory: RestChannelServiceClientFactory    # connector clients for proactive messages
    validator: OutboundHostValidator
    backoff: Backoff        # messages the bot starts: nobody is waiting on them
    reply_backoff: Backoff  # replies and card updates, sent while Teams waits for our HTTP answer

    @property
    def anonymous(self) -> bool:
        return self.mode == "local"

    # -- inbound ---------------------------------------------------------------------------

    async def handle(self, request: web.Request, agent: Any) -> web.StreamResponse:
        """POST /api/messages: the auth rules, then the SDK's adapter runs the agent."""
        if self.mode == "local" and not is_local_request(request):
            log.warning("refused a Teams request from %s: without MICROSOFT_APP_ID only local requests are "
                        "accepted", request.remote)
            return web.json_response({"error": "Teams credentials are not configured; only local requests "
                                               "are accepted"}, status=403)
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.json_response({"error": "payload too large"}, status=413)
        validator = JwtTokenValidator(self.auth)
        if self.mode == "local":
            identity = validator.get_anonymous_claims()
        else:
            header = request.headers.get("Authorization")
            token = bearer_token(header)
            if token is None:
                return web.json_response({"error": "Invalid token or authentication failed." if header
                                          else "Authorization header not found"}, status=401)
            try:
                identity = await validator.validate_token(token)
            except Exception as exc:  # noqa: BLE001 - fail closed, whatever went wrong (keys unreachable too)
                log.warning("refused a Teams request: the token could not be checked (%s)", type(exc).__name__)
                return web.json_response({"error": "Invalid token or authentication failed."}, status=401)
        with warnings.catch_warnings():  # the SDK reads this plain string key back
            warnings.simplefilter("ignore", web.NotAppKeyWarning)
            request["claims_identity"] = identity
        try:
            return await self.adapter.process(request, agent)
        except ValidationError:
            return web.json_response({"error": "not a valid activity"}, status=400)

    # -- outbound, proactive -----------------------------------------------------------------

    def _identity(self) -> ClaimsIdentity:
        if self.anonymous:
            return ClaimsIdentity()
        return ClaimsIdentity({AuthenticationConstants.AUDIENCE_CLAIM: self.app_id,
                               AuthenticationConstants.APP_ID_CLAIM: self.app_id})

    async def send(self, conv: Conversation, activity: dict[str, Any], thread: str = "") -> str:
        """Post a message the bot starts (check-in, digest, escalation); returns its activity id.
        Raises ConversationGone for 403/404 and when the stored serviceUrl is no longer allowed."""
        if not self.validator.is_allowed(conv.service_url):
            log.warning("stored serviceUrl for %s is not allowed in %s mode", conv.key, self.mode)
            raise ConversationGone(403)
        address = conv.address(thread)
        channel_data = {**(conv.channel_data or {}), **(activity.get("channelData") or {})}
        conversation = {"id": address, "conversationType": conv.kind, "isGroup": conv.kind != "personal"}
        if conv.tenant:
            conversation["tenantId"] = conv.tenant
        wire = {**activity, "channelId": conv.channel_id, "serviceUrl": conv.service_url, "conversation": conversation}
        if channel_data:
            wire["channelData"] = channel_data
        if conv.bot and conv.bot.get("id"):
            wire["from"] = conv.bot
        body = Activity.model_validate(wire)
        client = await self.factory.create_connector_client(
            None, self._identity(), conv.service_url, AuthenticationConstants.AGENTS_SDK_SCOPE,
            use_anonymous=self.anonymous)
        try:
            sent = await with_retries(lambda: client.conversations.send_to_conversation(address, body),
                                      self.backoff, "proactive message")
        finally:
            await client.close()
        return str(sent.id or "")


def build_hosting(settings: Settings) -> Hosting:
    """No network here: MSAL asks for a token on the first send, the JWKS on the first request."""
    if settings.log_level != "DEBUG":  # the SDK logs every send at INFO
        logging.getLogger("microsoft_agents").setLevel(logging.WARNING)
    if settings.teams_mode == "credentialed":
        from microsoft_agents.authentication.msal import MsalConnectionManager

        settings.check_teams()
        app_id = settings.microsoft_app_id or ""
        # A single-tenant bot names its tenant; "botframework.com" is the multi-tenant authority.
        # The token's issuer is checked too (the SDK only does so when asked): Bot Framework's,
        # this tenant's Entra issuers and Microsoft's own first-party tenants, nobody else's,
        # even with a key the JWKS lookup accepted.
        auth = AgentAuthConfiguration(client_id=app_id, client_secret=settings.microsoft_app_password,
                                      tenant_id=settings.microsoft_app_tenant_id or "botframework.com",
                                      anonymous_allowed=False, validate_issuer=True)
        connections: Any = MsalConnectionManager(connections_configurations={"SERVICE_CONNECTION": auth})
        validator = OutboundHostValidator(enabled=True)  # Microsoft's hosts, HTTPS, no loopback
    else:
        app_id = ""
        auth = AgentAuthConfiguration(anonymous_allowed=True)
        # Without an app id the SDK warns on every turn that its user-token client has none.
        logging.getLogger("microsoft_agents.hosting.core.connector.client.user_token_client").setLevel(logging.ERROR)
        connections = ConnectionManager(lambda _config: AnonymousTokenProvider(),
                                        connections_configurations={"SERVICE_CONNECTION": auth})
        validator = LocalConnectorOnly()
    adapter = CloudAdapter(connection_manager=connections, host_validator=validator)
    # The SDK's default turn-error handler posts the exception text into the chat; let errors
    # reach our handler instead (logged, never shown to users).
    adapter.on_turn_error = None
    # Each connector call within OUTBOUND_DEADLINE (replies, sent while Teams waits: 10 s at most).
    deadline = settings.deadline_seconds
    return Hosting(settings.teams_mode or "local", app_id, auth, adapter, RestChannelServiceClientFactory(connections),
                   validator, Backoff(attempt_timeout=deadline),
                   Backoff(attempts=3, cap=4.0, max_retry_after=5.0, attempt_timeout=min(deadline, 10.0)))
