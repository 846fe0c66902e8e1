"""The scheduling tests' clock and clocked store (tests/scheduling/conftest.py)."""

from tests.scheduling.conftest import clock, store  # noqa: F401 - fixtures
