"""Alembic environment: always given a live connection by bot.core.storage.migrations.upgrade()."""

from alembic import context

from bot.core.storage.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through bot.core.storage.migrations.upgrade(engine)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
