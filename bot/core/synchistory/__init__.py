"""DEAR's sync history: reading exports (CSV, JSON rows), their dates, and importing them as
tracked sync errors."""
