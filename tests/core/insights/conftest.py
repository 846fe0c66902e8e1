"""Insights run on both databases (the report's queries differ by dialect: epoch seconds); the
`store` and `sqlite_store` fixtures are the shared ones (tests/conftest.py)."""
