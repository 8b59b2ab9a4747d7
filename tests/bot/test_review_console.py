"""The console's review and retrain pages, on a knowledge base built from the real plan."""

from __future__ import annotations

import json
import re

import pytest

from bot.chat.conversation_log import Turn
from bot.console.passwords import set_password
from bot.console.review_routes import retrain_starter
from tests.bot.conftest import CONSOLE_PASSWORD, sign_in

DOC = "黄政办发〔2022〕60号"


@pytest.fixture
def console(make_client, fake_rasa, kb_path, tmp_path):
    client = make_client(
        fake_rasa("normal"), knowledge_db=kb_path, retrain_dir=tmp_path / "retrain"
    )
    set_password(client.app.state.password_store, CONSOLE_PASSWORD)
    assert sign_in(client).status_code == 303
    return client


def unanswered(client, conversation: str, text: str) -> None:
    client.app.state.conversation_log.record(
        Turn(
            conversation,
            "api",
            text,
            [{"text": "方案里没有说", "buttons": []}],
            [],
            {"name": "out_of_scope", "confidence": 0.8},
            False,
            "out_of_scope",
            5,
        )
    )


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_the_queue_and_a_label(console):
    unanswered(console, "api:a", "看不见的人想考按摩证怎么办")
    unanswered(console, "api:b", "看不见的人想考按摩证怎么办呢")
    unanswered(console, "api:c", "二手车过户怎么办")
    page = console.get("/console/review").text
    assert "看不见的人想考按摩证怎么办" in page and "还有 1 种相近的说法" in page
    assert page.index("看不见的人想考按摩证怎么办") < page.index("二手车过户怎么办"), "most first"
    [key] = re.findall(r'review/question\?key=([^"]+)"', page)[:1]
    question = console.get(f"/console/review/question?key={key}").text
    assert "2 人问过" in question and "说方案没有涉及" in question
    # The shared ranker's suggestion comes first, checked; a search adds others.
    first = re.search(r'name="choice" value="entry:([^"]+)"[^>]*checked', question).group(1)
    assert first == f"{DOC}#13"
    searched = console.get(f"/console/review/question?key={key}&q=卷烟零售").text
    assert f'value="entry:{DOC}#2"' in searched
    saved = console.post(
        "/console/review",
        data={
            "key": "看不见的人想考按摩证怎么办",
            "choice": f"entry:{DOC}#13",
            "reviewer": "王芳",
            "keep": "yes",
            "csrf": csrf_of(question),
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"].startswith("/console/review/question?key=")
    assert "done=2" in saved.headers["location"]
    rows = console.app.state.conversation_log.reviews()
    assert {(r["question"], r["label"], r["reviewer"], r["kept"]) for r in rows} == {
        ("看不见的人想考按摩证怎么办", "13", "王芳", 1),
        ("看不见的人想考按摩证怎么办呢", "13", "王芳", 1),
    }
    after = console.get("/console/review").text
    assert "最近审核过的" in after and "王芳" in after
    assert "review/question?key=%E7%9C%8B" not in after, "reviewed groups leave the queue"
    # The reviewer is remembered for the next question.
    following = console.get(saved.headers["location"]).text
    assert 'value="王芳"' in following and "已保存（2 种说法）" in following


def test_a_label_needs_a_reviewer_a_choice_and_a_fresh_page(console):
    unanswered(console, "api:a", "二手车过户怎么办")
    page = console.get("/console/review/question?key=二手车过户怎么办").text
    base = {"key": "二手车过户怎么办", "csrf": csrf_of(page)}
    missing = console.post("/console/review", data={**base, "choice": "not_covered"})
    assert missing.status_code == 400 and "请填写审核人" in missing.text
    nothing = console.post("/console/review", data={**base, "reviewer": "李"})
    assert nothing.status_code == 400 and "请选择一项" in nothing.text
    made_up = console.post(
        "/console/review", data={**base, "reviewer": "李", "choice": f"entry:{DOC}#99"}
    )
    assert made_up.status_code == 400 and "找不到选中的条目" in made_up.text
    right = console.post("/console/review", data={**base, "reviewer": "李", "choice": "right"})
    assert right.status_code == 200 or right.status_code == 303  # out_of_scope was its answer
    stale = console.post(
        "/console/review", data={**base, "csrf": "x", "reviewer": "李", "choice": "skip"}
    )
    assert stale.status_code == 400


def test_undo_puts_a_question_back(console):
    unanswered(console, "api:a", "二手车过户怎么办")
    page = console.get("/console/review/question?key=二手车过户怎么办").text
    console.post(
        "/console/review",
        data={
            "key": "二手车过户怎么办",
            "choice": "not_covered",
            "reviewer": "李",
            "csrf": csrf_of(page),
        },
    )
    assert console.app.state.conversation_log.reviews()[0]["label"] == "out_of_scope"
    undone = console.post(
        "/console/review/undo",
        data={"key": "二手车过户怎么办", "csrf": csrf_of(page)},
        follow_redirects=False,
    )
    assert undone.status_code == 303
    assert console.app.state.conversation_log.reviews() == []
    assert "二手车过户怎么办" in console.get("/console/review").text


def test_retrain_starts_in_the_background_and_shows_reports(console, tmp_path):
    started = []
    console.app.dependency_overrides[retrain_starter] = lambda: (
        lambda settings, run_id: started.append(run_id)
    )
    page = console.get("/console/retrain").text
    assert "还没有重新训练过" in page and "开始重新训练" in page
    response = console.post(
        "/console/retrain", data={"csrf": csrf_of(page)}, follow_redirects=False
    )
    assert response.status_code == 303 and len(started) == 1
    assert console.get(f"/console/retrain/status?id={started[0]}").json()["status"] == "starting"
    folder = tmp_path / "retrain"
    folder.mkdir(exist_ok=True)
    (folder / f"{started[0]}.json").write_text(
        json.dumps(
            {
                "id": started[0],
                "started": "2026-11-29T10:00:00+00:00",
                "status": "kept",
                "reason": "没有切换，继续用原来的模型：冻结测试集 300/400 → 290/400（少答对 10 题，超过 1 题）。",
                "before": {"test": {"right": 300, "count": 400}, "check": {"right": 1, "count": 2}},
                "after": {"test": {"right": 290, "count": 400}, "check": {"right": 2, "count": 2}},
                "examples": {"trained": 40, "held_back": 8},
                "seconds": 250.0,
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    shown = console.get("/console/retrain").text
    assert "少答对 10 题" in shown and "300/400 → 290/400" in shown and "40（留出 8）" in shown
    status = console.get(f"/console/retrain/status?id={started[0]}").json()
    assert status["status"] == "kept" and "没有切换" in status["text"]
    assert console.post("/console/retrain", data={"csrf": "stale"}).status_code == 400


def test_the_review_pages_need_a_sign_in(client):
    for path in ("/console/review", "/console/review/question?key=x", "/console/retrain"):
        assert client.get(path).status_code == 401
    assert client.post("/console/review", data={"key": "x"}).status_code == 401
    assert client.post("/console/retrain").status_code == 401
