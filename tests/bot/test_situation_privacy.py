"""The situation check's answers are never written to the conversation log in clear."""

from __future__ import annotations

from bot.chat.service import PRIVATE_MESSAGE, merge_messages


def test_an_answer_of_the_check_is_logged_as_a_placeholder(make_client, fake_rasa):
    rasa = fake_rasa()
    rasa.meta = {**rasa.meta, "sources": [], "kind": "situation", "private": True}
    client = make_client(rasa)
    response = client.post("/api/chat", json={"message": "我是阳新县农村的，视力残疾"})
    assert response.status_code == 200
    # Rasa (which keeps the slots) got the words; the log only knows an answer was given.
    assert rasa.received[-1]["message"] == "我是阳新县农村的，视力残疾"
    [turn] = client.app.state.conversation_log.turns()
    assert turn["message"] == PRIVATE_MESSAGE and turn["kind"] == "situation"
    assert "视力" not in turn["message"]


def test_an_ordinary_question_is_logged_as_asked(make_client, fake_rasa):
    client = make_client(fake_rasa())
    client.post("/api/chat", json={"message": "盲人按摩有什么政策"})
    [turn] = client.app.state.conversation_log.turns()
    assert turn["message"] == "盲人按摩有什么政策"


def test_one_private_action_makes_the_whole_turn_private():
    # The form's validation marks the message private, then the result action runs in the
    # same turn with its own meta: the turn stays private and carries the result's sources.
    source = {"key": "黄政办发〔2022〕60号#13", "title": "盲人按摩"}
    messages = [
        {"custom": {"meta": {"kind": "situation", "private": True, "sources": []}}},
        {"text": "根据您的回答，方案里这几条可能和您有关："},
        {"custom": {"meta": {"kind": "situation_result", "private": False, "sources": [source]}}},
    ]
    reply = merge_messages(messages, "web")
    assert reply.private is True and reply.kind == "situation_result"
    assert reply.sources == [source]
    assert merge_messages(messages[1:], "web").private is False
