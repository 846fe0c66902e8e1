"""Reading Teams activities and writing Teams replies: the pure functions of bot.teams.translate."""

from __future__ import annotations

from bot.teams import translate as tr

BOT = {"id": "28:bot", "name": "SyncMedic"}


def test_the_bots_mention_is_removed_and_others_keep_the_name():
    entities = [{"type": "mention", "mentioned": BOT, "text": "<at>SyncMedic</at>"},
                {"type": "mention", "mentioned": {"id": "29:bob", "name": "Bob"}, "text": "<at>Bob</at>"}]
    text, mentioned = tr.strip_mentions("<at>SyncMedic</at> ask <at>Bob</at> about &quot;SO-1&quot; &amp; more",
                                        entities, BOT)
    assert (text, mentioned) == ('ask Bob about "SO-1" & more', True)


def test_a_mention_without_an_entity_is_still_recognised_by_name():
    assert tr.strip_mentions("<at>syncmedic</at>  hello", [], BOT) == ("hello", True)
    assert tr.strip_mentions("hello <at>Someone</at>", [], BOT) == ("hello Someone", False)


def test_line_breaks_in_a_pasted_error_are_kept():
    text, _ = tr.strip_mentions("<at>SyncMedic</at> line one\nline   two", [], BOT)
    assert text == "line one\nline two"


def test_commands():
    assert tr.command_of("Digest here.") == "digest_here"
    assert tr.command_of("  digest   OFF ") == "digest_off"
    assert tr.command_of("escalations here") == "escalations_here"
    assert tr.command_of("digest here please, and tell me about bills") is None


def test_channel_threads_share_the_channels_key_and_long_ids_fit():
    channel = "19:abc@thread.tacv2"
    assert tr.conversation_key(channel) == tr.conversation_key(channel + ";messageid=171")
    assert len(tr.conversation_key("a:" + "x" * 300)) <= 64
    assert tr.short_id("1715000000001") == "1715000000001"
    long = "f:" + "9" * 100
    assert len(tr.short_id(long)) <= 64 and tr.short_id(long) == tr.short_id(long)


def test_reading_a_channel_reply_and_its_address():
    activity = {"type": "message", "id": "175", "replyToId": "171", "channelId": "msteams",
                "serviceUrl": "https://smba.trafficmanager.net/amer/", "from": {"id": "29:x", "name": "Al", "aadObjectId": "aad-1"},
                "recipient": BOT, "text": "<at>SyncMedic</at> hi",
                "conversation": {"id": "19:abc@thread.tacv2;messageid=171", "conversationType": "channel",
                                 "tenantId": "t1", "isGroup": True},
                "channelData": {"team": {"id": "19:team"}, "channel": {"id": "19:abc@thread.tacv2"},
                                "tenant": {"id": "t1"}, "eventType": "x"},
                "entities": [{"type": "clientInfo", "timezone": "Asia/Tokyo"}]}
    incoming = tr.read_activity(activity)
    assert incoming.thread == "171"
    assert incoming.text == "hi" and incoming.mentioned
    assert incoming.timezone == "Asia/Tokyo"
    conv = incoming.conversation
    assert (conv.id, conv.kind, conv.tenant) == ("19:abc@thread.tacv2", "channel", "t1")
    assert conv.channel_data == {"tenant": {"id": "t1"}, "team": {"id": "19:team"},
                                 "channel": {"id": "19:abc@thread.tacv2"}}
    assert conv.address("171") == "19:abc@thread.tacv2;messageid=171"
    assert conv.address() == "19:abc@thread.tacv2"
    assert incoming.where.user == "aad-1" and incoming.where.thread == "171"


def test_settled_cards_lose_every_button_and_input():
    card = {"type": "AdaptiveCard", "body": [
        {"type": "TextBlock", "text": "a"},
        {"type": "Container", "items": [{"type": "ActionSet", "actions": []}, {"type": "TextBlock", "text": "b"}]},
        {"type": "Input.ChoiceSet", "id": "intent", "choices": []}], "actions": [{"type": "Action.Execute"}]}
    settled = tr.settled(card, "done")
    assert "actions" not in settled
    assert [i["type"] for i in settled["body"]] == ["TextBlock", "Container", "TextBlock"]
    assert settled["body"][1]["items"] == [{"type": "TextBlock", "text": "b"}]
    assert settled["body"][-1]["text"] == "done"
    assert "actions" in card  # the original is left alone


def test_read_action_keeps_only_known_data():
    activity = {"type": "invoke", "name": "adaptiveCard/action", "id": "f:1", "replyToId": "171",
                "conversation": {"id": "a:1"}, "from": {"id": "29:x"},
                "value": {"action": {"type": "Action.Execute", "verb": "fixed",
                                     "data": {"case_id": "c1", "intent": "i", "evil": {"x": 1}}}}}
    action = tr.read_action(activity)
    assert action is not None and (action.verb, action.data) == ("fixed", {"case_id": "c1", "intent": "i"})
    assert action.incoming.reply_to == "171"
    activity["value"]["action"]["type"] = "Action.Submit"
    assert tr.read_action(activity) is None
