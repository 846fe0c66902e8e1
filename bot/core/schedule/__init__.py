"""The scheduler's round (check-ins, digests) and the calendar rules it reads."""
