"""Stored Teams conversation references, on SQLite and PostgreSQL."""

from __future__ import annotations

from bot.core.storage.store import Store
from bot.teams.conversations import Conversations
from bot.teams.translate import Conversation, conversation_key


def conv(conversation_id: str, url: str = "https://smba.trafficmanager.net/amer/") -> Conversation:
    return Conversation(key=conversation_key(conversation_id), id=conversation_id, kind="channel", tenant="t1",
                        service_url=url, bot={"id": "28:bot", "name": "SyncMedic"},
                        channel_data={"tenant": {"id": "t1"}, "channel": {"id": conversation_id}})


def test_remember_refresh_gone_and_targets(database_url):
    store = Store.from_url(database_url)
    try:
        conversations = Conversations(store)
        general, ops = conv("19:general@thread.tacv2"), conv("19:ops@thread.tacv2")
        conversations.remember(general)
        conversations.remember(general)  # idempotent
        conversations.remember(ops)
        assert conversations.get(general.key).conversation == general
        assert conversations.get("tc_unknown") is None

        assert conversations.set_target(ops.key, "digest", True)
        assert conversations.set_target(general.key, "escalation", True)
        assert not conversations.set_target("tc_unknown", "digest", True)
        assert [s.conversation.key for s in conversations.targets("digest")] == [ops.key]
        assert [s.conversation.key for s in conversations.targets("escalation")] == [general.key]

        conversations.mark_gone(ops.key)
        assert conversations.get(ops.key).gone_at is not None
        assert conversations.targets("digest") == []

        moved = conv("19:ops@thread.tacv2", "https://smba.trafficmanager.net/emea/")
        conversations.remember(moved)  # it talks to us again, from another region
        stored = conversations.get(ops.key)
        assert stored.gone_at is None and stored.is_digest_target
        assert stored.conversation.service_url.endswith("/emea/")
    finally:
        store.engine.dispose()
