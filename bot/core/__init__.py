"""The platform-free core: intents, classifier, entities, rendering. No Slack/Teams imports."""
