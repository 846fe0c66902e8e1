"""Keeping a running process on the model in use (bot/core/model/inuse.py).

Every MODEL_CHECK_INTERVAL the process asks the database which model is the newest of its
kind (one small query: no bytes) and, when it is not the one served, loads it and swaps it
into the engine. A web worker also looks once before serving, so a worker forked again from
a parent that loaded an older model starts on the newest.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .core.model.inuse import load_published
from .core.storage.modelshelf import ModelShelf
from .delivery.timers import Sleep
from .health import database_unavailable

log = logging.getLogger(__name__)


class ModelWatch:
    def __init__(self, core: Any, shelf: ModelShelf, every: float, sleep: Sleep = asyncio.sleep) -> None:
        self.core = core          # bot.wiring.Core
        self.shelf = shelf
        self.every = every
        self.sleep = sleep
        self.unusable: str | None = None  # a published model that failed to load: not tried again

    def refresh(self) -> bool:
        """Swap in the newest published model if it is not the one served; True if it swapped.
        Blocking (database, unpickling): call it in a thread."""
        newest = self.shelf.newest(self.core.model_compat)
        if newest is None or newest.fingerprint in (self.core.model_meta.get("fingerprint"), self.unusable):
            return False
        try:
            model, meta = load_published(self.shelf, newest)
            self.core.use(model, meta)
        except Exception as exc:
            if database_unavailable(exc):
                raise  # not the model's fault: the next look tries again
            self.unusable = newest.fingerprint
            log.exception("the published model %s cannot be served here; keeping the one in use",
                          newest.fingerprint[:12])
            return False
        log.info("now serving the model built at %s (%s)", newest.built_at, newest.fingerprint[:12])
        return True

    async def run(self) -> None:
        """Look every `every` seconds until cancelled; a failed look is retried at the next."""
        while True:
            await self.sleep(self.every)
            try:
                await asyncio.to_thread(self.refresh)
            except Exception as exc:  # noqa: BLE001 - the database may be down: the next look retries
                log.error("could not look for a newer model: %s", type(exc).__name__, exc_info=exc)
