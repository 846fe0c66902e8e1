"""The platform-free core: what SyncMedic knows and decides, with no Slack, Teams or HTTP in it.

- `desk`: the one entry point for every edge: messages in, answers out; clicks in, outcomes out.
- `nlu/`: understanding pasted text (cleaning, the knowledge base, signatures, entities, the engine).
- `model/`: the statistical model (training, the compiled serving form, storing, examples, evaluation).
- `replies/`: answers into words (layout templates, phrases, per-channel escaping hooks).
- `cases/`: follow-up check-ins and the daily digest of what is still broken.
- `schedule/`: the scheduler's round and the calendar rules it reads.
- `synchistory/`: importing DEAR's sync-history exports.
- `storage/`: the database (tables, the store, SQLite set-up).

Slack and Teams specifics (Block Kit and Adaptive Card limits, payloads, SDKs) live in
bot/slack and bot/teams; the delivery mechanics both edges share live in bot/delivery.
"""
