"""The published models in the database (table `models`): the bytes every process on every
machine can load, since the database is the one thing they all share. Which one a process
serves is decided in bot/core/model/inuse.py; this module only reads and writes rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .tables import ModelRow, utcnow

KEEP_PER_COMPAT = 3  # older models of the same kind are deleted when a new one is published


@dataclass(frozen=True)
class Shelved:
    """A published model, without its bytes (cheap to ask for every few seconds)."""

    id: int
    fingerprint: str
    built_at: str
    published_at: datetime


class ModelShelf:
    def __init__(self, engine: Engine, clock=utcnow) -> None:
        self.engine = engine
        self.clock = clock

    def _columns(self):
        t = ModelRow.__table__.c
        return select(t.id, t.fingerprint, t.built_at, t.published_at)

    def newest(self, compat: str) -> Shelved | None:
        """The model most recently published for processes of kind `compat`."""
        t = ModelRow.__table__.c
        with self.engine.connect() as conn:
            row = conn.execute(self._columns().where(t.compat == compat)
                               .order_by(t.published_at.desc(), t.id.desc()).limit(1)).first()
        return Shelved(*row) if row else None

    def read(self, model_id: int) -> tuple[bytes, dict]:
        """A published model's bytes and description."""
        t = ModelRow.__table__.c
        with self.engine.connect() as conn:
            data, meta = conn.execute(select(t.data, t.meta).where(t.id == model_id)).one()
        return bytes(data), dict(meta)

    def read_meta(self, model_id: int) -> dict:
        """A published model's description alone."""
        t = ModelRow.__table__.c
        with self.engine.connect() as conn:
            return dict(conn.execute(select(t.meta).where(t.id == model_id)).scalar_one())

    def put(self, data: bytes, meta: dict, compat: str) -> Shelved:
        """Publish a model (its meta carries its fingerprint): the newest of its kind from now
        on. One already here (trained again from the same inputs, or two workers starting on
        the same file) is published again, not stored twice."""
        t = ModelRow.__table__.c
        now = self.clock()
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(ModelRow).values(
                    fingerprint=meta["fingerprint"], compat=compat, built_at=str(meta.get("built_at") or ""),
                    published_at=now, meta=meta, data=data))
                self._prune(conn, compat)
        except IntegrityError:
            with self.engine.begin() as conn:
                conn.execute(update(ModelRow).where(t.fingerprint == meta["fingerprint"])
                             .values(published_at=now, compat=compat))
        with self.engine.connect() as conn:
            return Shelved(*conn.execute(self._columns().where(t.fingerprint == meta["fingerprint"])).one())

    @staticmethod
    def _prune(conn, compat: str) -> None:
        t = ModelRow.__table__.c
        keep = (select(t.id).where(t.compat == compat).order_by(t.published_at.desc(), t.id.desc())
                .limit(KEEP_PER_COMPAT))
        conn.execute(delete(ModelRow).where(t.compat == compat, t.id.not_in(keep.scalar_subquery())))
