"""Who may post to /api/messages.

With MICROSOFT_APP_ID set, every request needs a valid Bot Framework token, checked by the
SDK against the signing keys (served here by the stand-in, as login.botframework.com would);
when the keys cannot be fetched the request is refused. Without it, only requests from this
machine are accepted, and replies only go to a connector on this machine.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.app import create_app
from bot.core.storage.store import Store
from bot.settings import Settings, SettingsError
from bot.teams.hosting import LocalConnectorOnly, bearer_token
from microsoft_agents.hosting.core.authorization import _entra_issuers

from tests.teams.harness import BILL_ERROR, TeamsClient

APP_ID = "5a6b7c8d-1111-4e2f-8a9b-0123456789ab"
BF_ISSUER = "https://api.botframework.com"
OUTBOUND_TOKEN = "outbound-token-from-entra"


def events(bot: TeamsClient) -> list[tuple]:
    return bot.sql("SELECT message, status FROM events")


def assert_nothing_happened(bot: TeamsClient) -> None:
    assert bot.stub.calls == []
    assert events(bot) == []
    assert bot.sql("SELECT COUNT(*) FROM cases") == [(0,)]


# -- local mode ------------------------------------------------------------------------------------


async def test_local_mode_answers_loopback_requests_without_a_token(bot: TeamsClient):
    status, _ = await bot.post(bot.personal_message(BILL_ERROR))
    assert status == 202
    [reply] = bot.stub.posts()
    assert reply.authorization == ""


async def test_local_mode_refuses_requests_relayed_by_a_proxy(bot: TeamsClient):
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        status, _ = await bot.post(bot.personal_message(BILL_ERROR), headers={header: "203.0.113.9"})
        assert status == 403
    assert_nothing_happened(bot)


async def test_local_mode_refuses_a_peer_that_is_not_this_machine(start_bot):
    @web.middleware
    async def remote_peer(request: web.Request, handler: Any) -> web.StreamResponse:
        # What a request from 203.0.113.9 looks like to the app.
        return await handler(request.clone(remote="203.0.113.9"))

    bot = await start_bot(middlewares=[remote_peer])
    status, _ = await bot.post(bot.personal_message(BILL_ERROR))
    assert status == 403
    assert_nothing_happened(bot)


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


async def test_local_mode_refuses_a_real_connection_from_a_non_loopback_address(start_bot):
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 interface")
    bot = await start_bot(host=address)
    status, _ = await bot.post(bot.personal_message(BILL_ERROR))
    assert status == 403
    assert_nothing_happened(bot)


async def test_local_mode_only_replies_to_a_connector_on_this_machine(bot: TeamsClient):
    activity = bot.personal_message(BILL_ERROR)
    for url in ("https://smba.trafficmanager.net/amer/", "http://10.1.2.3/", "http://user:pw@127.0.0.1/"):
        status, _ = await bot.post({**activity, "serviceUrl": url})
        assert status == 401
    assert_nothing_happened(bot)


def test_local_connector_rule():
    rule = LocalConnectorOnly()
    assert rule.enabled
    assert rule.is_allowed("http://127.0.0.1:3978/") and rule.is_allowed("http://localhost:1/")
    assert rule.is_allowed("http://[::1]:8080/")
    assert not rule.is_allowed("https://smba.trafficmanager.net/amer/")
    assert not rule.is_allowed("http://127.0.0.1.nip.io/") and not rule.is_allowed("ftp://127.0.0.1/")


# -- credentialed mode --------------------------------------------------------------------------------


@pytest.mark.parametrize("header, token", [
    ("Bearer abc.def.ghi", "abc.def.ghi"), ("bearer abc.def.ghi", "abc.def.ghi"),
    ("Bearer  abc.def.ghi \t", "abc.def.ghi"),
    (None, None), ("", None), ("Bearer", None), ("Bearer ", None), ("Basic abc", None), ("Bearer abc def", None),
    ("abc.def.ghi", None),
])
def test_bearer_token(header, token):
    assert bearer_token(header) == token


class Keys:
    """An RSA signing key, published by the stand-in as a JWKS (login.botframework.com's job)."""

    def __init__(self) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256", "endorsements": ["msteams"]}]}

    def token(self, service_url: str, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": BF_ISSUER, "aud": APP_ID, "serviceurl": service_url, "nbf": now - 60, "iat": now - 60,
                "exp": now + 3600, **claims}
        return jwt.encode(body, self.private, algorithm="RS256", headers={"kid": self.kid})


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


@pytest.fixture
def credentialed(start_bot, keys: Keys, monkeypatch: pytest.MonkeyPatch):
    """start() -> a bot with MICROSOFT_APP_ID whose token keys come from the stand-in's /keys
    (or from `jwks_url`), and whose outbound token comes from a stubbed MSAL."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)

    async def fake_token(self: Any, resource_url: str, scopes: list[str], force_refresh: bool = False) -> str:
        return OUTBOUND_TOKEN

    monkeypatch.setattr("microsoft_agents.authentication.msal.MsalAuth.get_access_token", fake_token)

    async def start(jwks_url: str | None = None, stand_in_allowed: bool = True) -> TeamsClient:
        bot = await start_bot(MICROSOFT_APP_ID=APP_ID, MICROSOFT_APP_PASSWORD="client-secret",
                              MICROSOFT_APP_TENANT_ID="7d1b3c4e-0000-4a5b-9c8d-1234567890ab")
        bot.stub.jwks = keys.jwks()
        # The SDK fetches Bot Framework signing keys from this table (by token issuer).
        monkeypatch.setitem(_entra_issuers.BOTFRAMEWORK_JWKS_URIS, BF_ISSUER, jwks_url or bot.stub.base + "/keys")
        if stand_in_allowed:
            # Teams' connector is not on this machine: let the test's stand-in through (and only
            # it), so that the token is the only thing these tests vary.
            bot.services.teams.hosting.adapter._host_validator = LocalConnectorOnly()
            bot.services.teams.hosting.validator = LocalConnectorOnly()
        return bot

    return start


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns: connections are refused


async def test_credentialed_mode_refuses_requests_without_a_valid_token(credentialed, keys: Keys):
    bot = await credentialed()
    activity = bot.personal_message(BILL_ERROR)
    other = Keys()
    refused = {
        "no header": None,
        "not bearer": f"Basic {keys.token(bot.stub.service_url)}",
        "not a jwt": "Bearer not-a-jwt",
        "unknown key": f"Bearer {other.token(bot.stub.service_url)}",
        "forged kid": "Bearer " + jwt.encode({"iss": BF_ISSUER, "aud": APP_ID}, other.private, algorithm="RS256",
                                             headers={"kid": keys.kid}),
        "wrong audience": f"Bearer {keys.token(bot.stub.service_url, aud='some-other-bot')}",
        "expired": f"Bearer {keys.token(bot.stub.service_url, exp=int(time.time()) - 3600)}",
        "unsigned": "Bearer " + jwt.encode({"iss": BF_ISSUER, "aud": APP_ID}, key=None, algorithm="none"),
    }
    for name, header in refused.items():
        headers = {"Authorization": header} if header else {}
        status, _ = await bot.post(activity, headers=headers)
        assert status == 401, name
    assert_nothing_happened(bot)


@pytest.mark.parametrize("issuer", ["https://sts.example.com/", "https://login.microsoftonline.com/"
                                    "0badf00d-0000-4000-8000-000000000bad/v2.0",
                                    "https://api.botframework.com.evil.example"])
async def test_credentialed_mode_refuses_a_token_from_another_issuer(credentialed, keys: Keys, issuer: str,
                                                                      monkeypatch: pytest.MonkeyPatch):
    """Signed with a key the lookup accepts (here: the stand-in's, found for this issuer), for our
    app id, but issued by someone else: refused. The SDK checks issuers only when asked."""
    bot = await credentialed()
    monkeypatch.setitem(_entra_issuers.BOTFRAMEWORK_JWKS_URIS, issuer, bot.stub.base + "/keys")
    bot.token = keys.token(bot.stub.service_url, iss=issuer)

    status, _ = await bot.post(bot.personal_message(BILL_ERROR))

    assert status == 401
    assert_nothing_happened(bot)


async def test_credentialed_mode_fails_closed_when_the_signing_keys_cannot_be_fetched(credentialed, keys: Keys):
    bot = await credentialed(jwks_url=f"http://127.0.0.1:{_closed_port()}/keys")
    bot.token = keys.token(bot.stub.service_url)  # a token that would be accepted (next test)

    status, body = await bot.post(bot.personal_message(BILL_ERROR))

    assert status == 401
    assert "token" in json.dumps(body).lower()
    assert_nothing_happened(bot)


async def test_credentialed_mode_fails_closed_when_the_key_server_answers_with_an_error(credentialed, keys: Keys):
    bot = await credentialed()
    bot.stub.jwks = None  # /keys answers 404
    bot.token = keys.token(bot.stub.service_url)

    status, _ = await bot.post(bot.personal_message(BILL_ERROR))

    assert status == 401
    assert_nothing_happened(bot)


async def test_credentialed_mode_keeps_the_sdk_rule_against_loopback_service_urls(credentialed, keys: Keys):
    bot = await credentialed(stand_in_allowed=False)
    bot.token = keys.token(bot.stub.service_url)  # a good token, but the serviceUrl is not Microsoft's

    status, _ = await bot.post(bot.personal_message(BILL_ERROR))

    assert status == 401
    assert_nothing_happened(bot)


async def test_credentialed_mode_answers_a_valid_token_and_replies_with_its_own(credentialed, keys: Keys):
    bot = await credentialed()
    bot.token = keys.token(bot.stub.service_url)

    status, _ = await bot.post(bot.personal_message(BILL_ERROR))

    assert status == 202
    [reply] = bot.stub.posts()
    assert reply.authorization == f"Bearer {OUTBOUND_TOKEN}"
    assert reply.body["channelData"]["sync_diagnosis"]["intent"] == "bill_not_exported"

    # Proactive messages carry the bot's token too.
    from datetime import timedelta

    from bot.core.storage.tables import utcnow

    assert await bot.services.clockwork.send_checkins(utcnow() + timedelta(hours=5)) == 1
    assert bot.stub.accepted("send")[-1].authorization == f"Bearer {OUTBOUND_TOKEN}"

    # A token minted for another serviceUrl does not carry a request to this one.
    bot.token = keys.token("https://smba.trafficmanager.net/emea/")
    status, _ = await bot.post(bot.personal_message(BILL_ERROR))
    assert status == 401


def test_app_id_without_a_password_is_refused_at_start_up(tmp_path, core):
    settings = Settings.from_env({"MICROSOFT_APP_ID": APP_ID, "SYNCMEDIC_DATA_DIR": str(tmp_path),
                                  "DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "MODEL_STALE": "refuse"})
    with pytest.raises(SettingsError, match="MICROSOFT_APP_PASSWORD"):
        create_app(settings, core, Store.from_url(settings.database_url), background=False)


def test_teams_off_means_no_endpoint(tmp_path, core):
    settings = Settings.from_env({"TEAMS": "off", "SYNCMEDIC_DATA_DIR": str(tmp_path),
                                  "DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "MODEL_STALE": "refuse"})
    app = create_app(settings, core, Store.from_url(settings.database_url), background=False)
    assert not any(r.resource and r.resource.canonical == "/api/messages" for r in app.router.routes())


async def test_credentialed_mode_fails_closed_on_any_error_while_checking(credentialed, keys: Keys,
                                                                          monkeypatch: pytest.MonkeyPatch):
    async def broken(self: Any, token: str) -> Any:
        raise RuntimeError("something unexpected in the key cache")

    monkeypatch.setattr("microsoft_agents.hosting.core.authorization.jwt.JwtTokenValidator.validate_token", broken)
    bot = await credentialed()
    bot.token = keys.token(bot.stub.service_url)

    status, _ = await bot.post(bot.personal_message(BILL_ERROR))

    assert status == 401
    assert_nothing_happened(bot)
