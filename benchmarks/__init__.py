"""Benchmarks for SyncMedic's diagnosis engine: `make bench` (or `python -m benchmarks [--json]`).

Each figure is printed beside its target from the issue; the run exits non-zero when any
target is missed. Modules:

  report.py        Figure (one measured number, its target and verdict) and the table / JSON output
  inputs.py        deterministic test inputs: realistic batches, long pastes, hostile junk
  accuracy.py      held-out accuracy through bot.core.model.evaluation.score
  speed.py         in-process cost: batch ms/message, single-message latency, bad-input time
  process.py       `python -m bot classify` in a child process: cold start and peak memory
  slack_http.py    Slack delivery over real HTTP: ack and event-to-reply latency for bursts of 50
                   signed app_mention events, and exactly one reply per event
  slack_server.py  the child processes slack_http.py runs: the real app, a Slack Web API stand-in
"""
