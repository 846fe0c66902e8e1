"""The Slack edge: bolt listeners, delivery of answers, buttons, App Home, Block Kit format.

Importing this package loads nothing from slack_bolt or slack_sdk; `bot.app.build_slack` does.
"""
