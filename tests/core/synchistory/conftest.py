"""The import tests' stores and engine (tests/ingest/conftest.py)."""

from tests.ingest.conftest import engine, sqlite_store, store  # noqa: F401 - fixtures
