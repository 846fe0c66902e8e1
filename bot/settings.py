"""Settings.from_env(environ): the only place that reads the process environment."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit
from datetime import time, timedelta
from pathlib import Path
from typing import Callable, Mapping, TypeVar

# Plain functions of text, standard library only: cheap enough for `classify`'s cold start.
from .core.schedule.timerules import BusinessHours, RuleError, parse_clock, parse_days, parse_zone

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_DURATION = re.compile(r"^\s*(\d{1,6})\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message names the variable."""


def parse_duration(name: str, value: str) -> timedelta:
    """Parse `4h`, `30m`, `3s`, `1d` into a timedelta."""
    m = _DURATION.match(value)
    if not m:
        raise SettingsError(f"{name}={value!r}: use a number and a unit, e.g. 4h, 30m or 3s")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def _positive(value: timedelta, name: str) -> timedelta:
    if value <= timedelta(0):
        raise SettingsError(f"{name}: use a duration of at least 1s")
    return value


def _int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < minimum:
        raise SettingsError(f"{name}={text!r}: use a whole number of at least {minimum}")
    return int(text)


T = TypeVar("T")


def _rule(env: Mapping[str, str], name: str, default: str, parse: Callable[[str], T]) -> T:
    """A calendar setting, parsed once here; an error names the variable and the value."""
    text = env.get(name) or default
    try:
        return parse(text)
    except RuleError as exc:
        raise SettingsError(f"{name}={text!r}: {exc.reason}") from None


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    text = env.get(name, "").strip().lower()
    if not text:
        return default
    if text in ("1", "on", "yes", "true"):
        return True
    if text in ("0", "off", "no", "false"):
        return False
    raise SettingsError(f"{name}={text!r}: use on or off")


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The databases the bot runs on: SQLite (a file) and PostgreSQL through psycopg 3
# (bot.core.storage.store.make_engine reads postgres:// and postgresql:// as psycopg).
_DATABASE_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgres", "postgresql", "postgresql+psycopg")
_DATABASE_HINT = "use postgresql://user:password@host:5432/database or sqlite:///path/to/syncmedic.db"
_PASSWORD = re.compile(r"(?<=:)[^:@/]*(?=@)")


def redact_url(url: str) -> str:
    """A database URL fit for a message or a log: the password replaced by ***."""
    scheme, sep, rest = url.partition("://")
    return scheme + sep + _PASSWORD.sub("***", rest, count=1) if sep else url


def _database_url(env: Mapping[str, str], data_dir: Path) -> str:
    """DATABASE_URL, checked for what can be told from the text alone (whether the server
    answers is checked when the database is opened: bot.wiring.open_store)."""
    text = env.get("DATABASE_URL", "").strip()
    if not text:
        return f"sqlite:///{data_dir / 'syncmedic.db'}"
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in _DATABASE_SCHEMES:
        what = f"a {scheme.lower()} database is not supported" if sep else "not a database URL"
        raise SettingsError(f"DATABASE_URL={redact_url(text)!r}: {what}; {_DATABASE_HINT}")
    if scheme.lower().startswith("sqlite"):
        path = rest.partition("?")[0]
        if not path.startswith("/") or path in ("/", "/:memory:"):
            # sqlite:/// names no file; sqlite:// and :memory: are a database that dies with the
            # process and that no second process (a worker, the clock) can see.
            raise SettingsError(f"DATABASE_URL={text!r}: name the SQLite file, e.g. sqlite:///var/syncmedic.db "
                                "(relative) or sqlite:////srv/syncmedic/syncmedic.db (absolute)")
    return text


def _log_level(env: Mapping[str, str]) -> str:
    text = env.get("LOG_LEVEL", "").strip().upper() or "INFO"
    text = "WARNING" if text == "WARN" else text
    if text not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL={env.get('LOG_LEVEL')!r}: use one of {', '.join(LOG_LEVELS)}")
    return text


def _http_url(env: Mapping[str, str], name: str, default: str) -> str:
    """An http(s) base URL with a host, ending in a slash."""
    text = env.get(name, "").strip() or default
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a port that is not a number, a broken IPv6 address
        ok = False
    if not ok or any(c.isspace() for c in text):
        raise SettingsError(f"{name}={text!r}: use an http:// or https:// URL, e.g. {default}")
    return _with_slash(text)


def _secret(env: Mapping[str, str], name: str) -> str | None:
    """A token or secret; the spaces and line break a paste brings are not part of it."""
    text = env.get(name, "").strip()
    return text or None


MAX_WEB_CONCURRENCY = 64

# Where replies send people who need Cin7 Core (DEAR) support: Cin7 Core's help centre, from
# which its support team is reached (help.core.cin7.com, the help site Cin7 Core's own help
# articles live on). support@dearsystems.com was DEAR Systems' address before the rename.
DEFAULT_SUPPORT_CONTACT = "https://help.core.cin7.com"
_CONTACT_MAX = 200


def _support_contact(env: Mapping[str, str]) -> str:
    """SUPPORT_CONTACT: one short line (an address or a URL) that escalation texts show."""
    text = " ".join(env.get("SUPPORT_CONTACT", "").split())
    if not text:
        return DEFAULT_SUPPORT_CONTACT
    if len(text) > _CONTACT_MAX or not text.isprintable():
        raise SettingsError(f"SUPPORT_CONTACT: use one line of at most {_CONTACT_MAX} printable characters, "
                            "e.g. an email address or a help-centre URL")
    return text


def _delivery_timing(env: Mapping[str, str]) -> tuple[timedelta, timedelta]:
    """OUTBOUND_DEADLINE: the longest any one outbound call (Slack's Web API, a file download,
    Teams' connector) may take, connecting and answering included. EVENT_RETRY_AFTER: how long
    claimed work (a message, a check-in, a digest) whose process stopped renewing it waits
    before another process takes it over. It may not be shorter than the deadline: a post still
    in flight when its process died has then landed or failed, so the look before posting again
    (bot/slack/lookup.py) sees it."""
    deadline = parse_duration("OUTBOUND_DEADLINE", env.get("OUTBOUND_DEADLINE", "10s"))
    if not deadline:
        raise SettingsError("OUTBOUND_DEADLINE=0s: use at least 1s (Slack's Web API answers in well under a second)")
    retry_after = parse_duration("EVENT_RETRY_AFTER", env.get("EVENT_RETRY_AFTER", "60s"))
    if retry_after < deadline:
        raise SettingsError(f"EVENT_RETRY_AFTER={env.get('EVENT_RETRY_AFTER', '60s').strip()} is shorter than "
                            f"OUTBOUND_DEADLINE ({int(deadline.total_seconds())}s): a reply still in flight could be "
                            "answered a second time; use at least the deadline")
    return deadline, retry_after


@dataclass(frozen=True)
class Settings:
    root: Path = PROJECT_ROOT
    data_dir: Path = PROJECT_ROOT / "var"
    # What to do with a model built from other inputs or other library versions:
    # "rebuild" retrains it (a few seconds), "refuse" stops with a clear message.
    stale_model: str = "rebuild"
    port: int = 3000
    host: str = "0.0.0.0"
    web_concurrency: int = 1  # web processes sharing the port (see bot.serving)
    database_url: str = ""
    followup_after: timedelta = timedelta(hours=4)
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_base_url: str = "https://slack.com/api/"
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_file_max_bytes: int = 1_000_000
    escalation_channel: str | None = None
    escalation_usergroup: str | None = None
    escalate_after: int = 2
    admin_users: frozenset[str] = frozenset()
    retention: timedelta = timedelta(days=30)
    event_retry_after: timedelta = timedelta(seconds=60)
    log_level: str = "INFO"
    business_hours: BusinessHours | None = None   # None: check-ins may go at any time
    digest_channel: str | None = None
    digest_team: str | None = None
    digest_time: time = parse_clock("09:00")
    digest_tz: str = "UTC"                         # an IANA name, checked by from_env
    digest_days: frozenset[int] = parse_days("Mon-Fri")  # weekday numbers, Mon = 0
    digest_all_clear: bool = True
    report_monthly: bool = False                   # last month's summary to the digest targets
    scheduler: bool = True
    scheduler_interval: float = 5.0
    followup_max: int = 3
    ingest_token: str | None = None
    microsoft_app_id: str | None = None
    microsoft_app_password: str | None = None
    microsoft_app_tenant_id: str | None = None
    teams: bool = True
    support_contact: str = DEFAULT_SUPPORT_CONTACT
    model_check_interval: float = 30.0  # how often a running process looks for a newer published model
    outbound_deadline: timedelta = timedelta(seconds=10)  # see _delivery_timing

    @property
    def deadline_seconds(self) -> float:
        """OUTBOUND_DEADLINE in seconds: the whole of one outbound HTTP call."""
        return self.outbound_deadline.total_seconds()

    @property
    def slack_oauth(self) -> bool:
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def slack_mode(self) -> str | None:
        """"socket", "http" or None (no Slack credentials at all)."""
        if self.slack_app_token and (self.slack_bot_token or self.slack_oauth):
            return "socket"
        if self.slack_bot_token or self.slack_oauth or self.slack_signing_secret:
            return "http"
        return None

    def check_slack(self) -> None:
        """Refuse a Slack set-up that cannot be served safely."""
        if self.slack_mode == "http" and not self.slack_signing_secret:
            raise SettingsError("HTTP mode needs SLACK_SIGNING_SECRET to verify requests from Slack "
                                "(or set SLACK_APP_TOKEN for Socket Mode)")
        if self.slack_mode == "http" and not (self.slack_bot_token or self.slack_oauth):
            raise SettingsError("SLACK_SIGNING_SECRET is set but there is no SLACK_BOT_TOKEN "
                                "(or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for multi-workspace installs)")

    @property
    def teams_mode(self) -> str | None:
        """Teams at /api/messages: "credentialed" (Bot Framework tokens required), "local"
        (no credentials: loopback requests only) or None (TEAMS=off)."""
        if not self.teams:
            return None
        return "credentialed" if self.microsoft_app_id else "local"

    def check_teams(self) -> None:
        """Refuse a Teams set-up that cannot send replies."""
        if self.teams_mode == "credentialed" and not self.microsoft_app_password:
            raise SettingsError("MICROSOFT_APP_ID is set but MICROSOFT_APP_PASSWORD is not: the bot needs the "
                                "client secret to reply in Teams")

    @property
    def intents_dir(self) -> Path:
        return self.root / "intents"

    @property
    def responses_dir(self) -> Path:
        return self.root / "responses"

    @property
    def training_dir(self) -> Path:
        return self.root / "training"

    @property
    def model_dir(self) -> Path:
        return self.data_dir / "model"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        root = Path(env.get("SYNCMEDIC_ROOT", PROJECT_ROOT)).resolve()
        data_dir = Path(env.get("SYNCMEDIC_DATA_DIR", root / "var")).resolve()
        stale = env.get("MODEL_STALE", "rebuild").strip().lower()
        if stale not in ("rebuild", "refuse"):
            raise SettingsError(f"MODEL_STALE={stale!r}: use rebuild or refuse")
        port_text = env.get("PORT", "3000")
        if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            raise SettingsError(f"PORT={port_text!r}: use a port number between 0 and 65535")
        deadline, retry_after = _delivery_timing(env)
        web_concurrency = _int(env, "WEB_CONCURRENCY", 1, 1)
        if web_concurrency > MAX_WEB_CONCURRENCY:
            raise SettingsError(f"WEB_CONCURRENCY={web_concurrency}: use 1 to {MAX_WEB_CONCURRENCY} "
                                "(about one per CPU core)")
        return cls(
            root=root,
            data_dir=data_dir,
            stale_model=stale,
            port=int(port_text),
            host=env.get("HOST", "0.0.0.0"),
            web_concurrency=web_concurrency,
            database_url=_database_url(env, data_dir),
            followup_after=parse_duration("FOLLOWUP_AFTER", env.get("FOLLOWUP_AFTER", "4h")),
            slack_bot_token=_secret(env, "SLACK_BOT_TOKEN"),
            slack_app_token=_secret(env, "SLACK_APP_TOKEN"),
            slack_signing_secret=_secret(env, "SLACK_SIGNING_SECRET"),
            slack_api_base_url=_http_url(env, "SLACK_API_BASE_URL", "https://slack.com/api/"),
            slack_client_id=_secret(env, "SLACK_CLIENT_ID"),
            slack_client_secret=_secret(env, "SLACK_CLIENT_SECRET"),
            slack_file_max_bytes=_int(env, "SLACK_FILE_MAX_BYTES", 1_000_000, 1),
            escalation_channel=env.get("ESCALATION_CHANNEL") or None,
            escalation_usergroup=env.get("ESCALATION_USERGROUP") or None,
            escalate_after=_int(env, "ESCALATE_AFTER", 2, 1),
            admin_users=frozenset(u.strip() for u in env.get("ADMIN_USERS", "").split(",") if u.strip()),
            retention=parse_duration("RETENTION", env.get("RETENTION", "30d")),
            event_retry_after=retry_after,
            outbound_deadline=deadline,
            log_level=_log_level(env),
            # Parsed here, so a typo stops start-up instead of the 9 o'clock digest.
            business_hours=(_rule(env, "BUSINESS_HOURS", "", BusinessHours.parse)
                            if env.get("BUSINESS_HOURS") else None),
            digest_channel=env.get("DIGEST_CHANNEL") or None,
            digest_team=env.get("DIGEST_TEAM") or None,
            digest_time=_rule(env, "DIGEST_TIME", "09:00", parse_clock),
            digest_tz=_rule(env, "DIGEST_TZ", "UTC", parse_zone),
            digest_days=_rule(env, "DIGEST_DAYS", "Mon-Fri", parse_days),
            digest_all_clear=_flag(env, "DIGEST_ALL_CLEAR", True),
            report_monthly=_flag(env, "REPORT_MONTHLY", False),
            scheduler=_flag(env, "SCHEDULER", True),
            scheduler_interval=_positive(parse_duration("SCHEDULER_INTERVAL", env.get("SCHEDULER_INTERVAL", "5s")),
                                         "SCHEDULER_INTERVAL").total_seconds(),
            followup_max=_int(env, "FOLLOWUP_MAX", 3, 1),
            ingest_token=env.get("INGEST_TOKEN") or None,
            microsoft_app_id=env.get("MICROSOFT_APP_ID", "").strip() or None,
            microsoft_app_password=env.get("MICROSOFT_APP_PASSWORD") or None,
            microsoft_app_tenant_id=env.get("MICROSOFT_APP_TENANT_ID", "").strip() or None,
            teams=_flag(env, "TEAMS", True),
            support_contact=_support_contact(env),
            model_check_interval=_positive(parse_duration("MODEL_CHECK_INTERVAL",
                                                          env.get("MODEL_CHECK_INTERVAL", "30s")),
                                           "MODEL_CHECK_INTERVAL").total_seconds(),
        )
