"""Settings.from_env(environ): the only place that reads the process environment."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Mapping

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


@dataclass(frozen=True)
class Settings:
    root: Path = PROJECT_ROOT
    data_dir: Path = PROJECT_ROOT / "var"
    # What to do with a model built from other inputs or other library versions:
    # "rebuild" retrains it (a few seconds), "refuse" stops with a clear message.
    stale_model: str = "rebuild"
    port: int = 3000
    database_url: str = ""
    followup_after: timedelta = timedelta(hours=4)
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_base_url: str = "https://slack.com/api/"
    extra: Mapping[str, str] = field(default_factory=dict)

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
        return cls(
            root=root,
            data_dir=data_dir,
            stale_model=stale,
            port=int(port_text),
            database_url=env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'syncmedic.db'}",
            followup_after=parse_duration("FOLLOWUP_AFTER", env.get("FOLLOWUP_AFTER", "4h")),
            slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
            slack_app_token=env.get("SLACK_APP_TOKEN") or None,
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            slack_api_base_url=env.get("SLACK_API_BASE_URL") or "https://slack.com/api/",
        )
