"""The import tests' engine (tests/ingest/conftest.py); their stores are tests/conftest.py's."""

from tests.ingest.conftest import engine  # noqa: F401 - fixture
