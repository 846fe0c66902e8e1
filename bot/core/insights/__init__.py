"""Insights for the person who runs the bot: what it solved, where it failed, and which
problems it does not know yet, for a period (bot/core/insights/report.py puts them together).

Figures are computed here, from the database, and nowhere else; the CLI, Slack, Teams and the
sandbox only show them (bot/core/insights/render.py turns them into words and charts from
responses/). Clustering the knowledge gaps needs scikit-learn, imported only when a report is
built, never by `classify` or an ordinary answer.
"""
