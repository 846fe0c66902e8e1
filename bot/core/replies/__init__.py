"""Turning answers into words: layouts from responses/, fixed phrases, per-channel formats."""
