"""Stand-ins for the services the bot talks to, shared by every test suite.

- `slack.py`: Slack's Web API, served over real HTTP on 127.0.0.1 (the bot's real slack_sdk
  client serialises and sends), in the test's event loop or in a background thread.
- `slack_payloads.py`: what Slack sends the bot (Events API envelopes, slash commands,
  shortcuts, button clicks, menu picks), signed with slack_sdk's own SignatureVerifier.

Teams' connector stand-in is still tests/teams/harness.py (only the Teams suite uses it).
"""
