"""The review loop without a model: the queue, verdicts, the export, retention, the gate."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from bot.chat import retention
from bot.chat.conversation_log import ConversationLog, Turn, normalize_question
from bot.chat.service import PRIVATE_MESSAGE
from bot.cli import retrain
from bot.console import review, reviewed
from bot.settings import REPO_ROOT
from tests.eval import sets

DOC = "黄政办发〔2022〕60号"

SOURCE_13 = {"document": DOC, "item": 13, "ref": "二（八）13", "kind": "item", "key": f"{DOC}#13"}


def turn(conversation: str, message: str, kind: str = "answer", confidence: float = 0.95,
         intent: str = "ask_blind_massage", sources=None) -> Turn:  # fmt: skip
    return Turn(
        conversation_id=conversation,
        channel="api",
        message=message,
        replies=[{"text": f"回答：{message}", "buttons": []}],
        sources=sources if sources is not None else [],
        intent={"name": intent, "confidence": confidence},
        handoff=False,
        kind=kind,
        latency_ms=10,
    )


@pytest.fixture
def log(tmp_path):
    log = ConversationLog(tmp_path / "conversations.db", "test-secret-key-that-is-long-enough-000")
    yield log
    log.close()


@pytest.fixture
def filled(log):
    """One conversation for each reason a question is reviewed, and some that are not."""
    # not answered, by two people in nearly the same words: one group, two people
    log.record(turn("api:b", "残疾人开网店有没有补贴", kind="out_of_scope", intent="out_of_scope"))
    log.record(
        turn("api:c", "残疾人开网店有没有补贴呢", kind="out_of_scope", intent="out_of_scope")
    )
    # 👎 on an answer
    down = log.record(turn("api:a", "盲人按摩考试怎么报名", sources=[SOURCE_13]))
    assert log.set_feedback("api:a", down, "down")
    # low confidence
    log.record(turn("api:d", "我想问问上班的事", confidence=0.3, sources=[SOURCE_13]))
    # asked again at once in other words
    log.record(turn("api:e", "公益岗位咋申请", intent="ask_public_welfare_post"))
    log.record(turn("api:e", "公益性岗位在哪里申请", intent="ask_public_welfare_post"))
    # a follow-up right after is not asking again; thanks is answered; busy says nothing
    log.record(turn("api:f", "培训有补贴吗", intent="ask_training"))
    log.record(turn("api:f", "那找谁", intent="ask_responsible"))
    log.record(turn("api:g", "谢谢", intent="thanks", kind="smalltalk"))
    log.record(turn("api:h", "人多吗", kind="busy", intent=None, confidence=None))
    # the situation check: its start is followed at once by an answer (not asking again), and
    # its answers (logged as a placeholder, low confidence) are not questions to review
    log.record(turn("api:i", "看看我适合哪些政策", kind="situation", intent="check_situation"))
    log.record(
        turn("api:i", PRIVATE_MESSAGE, kind="situation", intent="inform_situation", confidence=0.4)
    )
    log.record(turn("api:i", PRIVATE_MESSAGE, kind="situation_result", confidence=0.3))
    return log


def test_the_queue_has_each_reason_and_nothing_else(filled):
    groups = {g.key: g for g in review.queue(filled)}
    assert set(groups) == {
        "残疾人开网店有没有补贴",
        "盲人按摩考试怎么报名",
        "我想问问上班的事",
        "公益岗位咋申请",
    }
    shop = groups["残疾人开网店有没有补贴"]
    assert [m["normalized"] for m in shop.members] == [
        "残疾人开网店有没有补贴",
        "残疾人开网店有没有补贴呢",
    ]
    assert shop.people == 2 and shop.reasons == ["unanswered"]
    assert review.queue(filled)[0].key == "残疾人开网店有没有补贴", "most people first"
    assert groups["盲人按摩考试怎么报名"].reasons == ["down"]
    assert groups["我想问问上班的事"].reasons == ["low"]
    assert groups["公益岗位咋申请"].reasons == ["reasked"]
    assert review.what_it_did(groups["盲人按摩考试怎么报名"].turn) == "引用了 二（八）13 来回答"
    assert review.right_label(groups["盲人按摩考试怎么报名"].turn) == "13"


def test_near_duplicates_only():
    assert review.similar("盲人按摩考试怎么报名", "盲人按摩考试如何报名")
    assert not review.similar("盲人按摩考试怎么报名", "盲人按摩考试在哪考")
    assert not review.similar("残疾证", "残疾证怎么办理才能快一点")


def test_a_verdict_covers_the_group_and_keeps_no_sender(filled):
    [shop] = [g for g in review.queue(filled) if g.key == "残疾人开网店有没有补贴"]
    written = review.record(
        filled, shop, verdict="entry", label="3", reviewer="王芳", keep=False, check_share=0.2
    )
    assert written == 2
    assert "残疾人开网店有没有补贴" not in {g.key for g in review.queue(filled)}
    rows = filled.reviews()
    assert {r["question"] for r in rows} == {"残疾人开网店有没有补贴", "残疾人开网店有没有补贴呢"}
    assert {(r["label"], r["reviewer"], r["people"], r["held_back"]) for r in rows} == {
        ("3", "王芳", 1, 0)
    }
    assert not {"sender", "rasa_sender"} & set(rows[0]), "a review never names who asked"
    assert filled.undo_review("残疾人开网店有没有补贴呢")
    assert {g.key for g in review.queue(filled)} >= {"残疾人开网店有没有补贴呢"}


def test_skip_and_right():
    assert review.label_of("skip", None, None) is None
    assert review.label_of("not_covered", None, None) == "out_of_scope"
    assert review.label_of("entry", f"{DOC}#三（二）", None) == "三（二）"
    assert review.label_of("right", None, {"kind": "out_of_scope", "sources": []}) == "out_of_scope"
    assert review.label_of("right", None, {"kind": "no_answer", "sources": []}) is None


def test_every_fifth_of_a_label_is_held_back(log):
    rule = review.check_share_rule(0.2)
    assert [n for n in range(1, 16) if rule(n)] == [5, 10, 15]
    assert not any(review.check_share_rule(0.0)(n) for n in range(1, 50))
    for i in range(6):
        log.record(turn(f"api:{i}", f"第{i}个不同的问题关于按摩{'的' * i}考试", kind="no_answer"))
    for group in review.queue(log):
        review.record(log, group, verdict="entry", label="13", reviewer="李", keep=False,
                      check_share=0.2)  # fmt: skip
    held = [r for r in log.reviews() if r["held_back"]]
    assert len(log.reviews()) == 6 and len(held) == 1


def test_intent_of_a_label():
    assert reviewed.intent_of("13") == "ask_blind_massage"
    assert reviewed.intent_of("7") == "ask_public_welfare_post"  # not the broad ask_subsidy
    assert reviewed.intent_of("三（二）") == "ask_employer_reward"
    assert reviewed.intent_of("target-rural-1500") == "ask_targets"
    assert reviewed.intent_of("out_of_scope") == "out_of_scope"
    assert reviewed.intent_of("document") == "ask_document"
    assert reviewed.intent_of("smalltalk") is None
    for number in range(1, 23):
        assert reviewed.intent_of(str(number)), f"item {number} has an intent"


def test_known_questions_are_the_three_sets():
    known = reviewed.known_questions()
    questions = [q["q"] for q in sets.dev() + sets.test()]
    questions += [text for _, text in sets.training_examples()]
    assert {normalize_question(str(q)) for q in questions} == known


def test_export_writes_rasa_examples_and_a_check_set(log, tmp_path):
    frozen = sets.test()[0]["q"]
    labelled = [("残疾人开网店有没有[补贴]", "3"), ("二手车过户怎么办", "out_of_scope"),
                (frozen, "13")]  # fmt: skip
    labelled += [(f"盲人医疗按摩要考{'哪' * i}些科目", "13") for i in range(1, 6)]
    for i, (question, _) in enumerate(labelled):
        log.record(turn(f"api:x{i}", question, kind="no_answer"))
    by_text = dict(labelled)
    for group in review.queue(log):
        label = by_text[group.question]
        review.record(log, group, verdict="entry", label=label, reviewer="张", keep=False,
                      check_share=0.2)  # fmt: skip
    done = reviewed.export(log, tmp_path / "training")
    assert done.left_out == [frozen], "the frozen test set is never trained on"
    nlu = yaml.safe_load(done.train_path.read_text(encoding="utf-8"))["nlu"]
    examples = {b["intent"]: b["examples"].splitlines() for b in nlu}
    assert examples["ask_platform_jobs"] == ["- 残疾人开网店有没有【补贴】"]
    assert examples["out_of_scope"] == ["- 二手车过户怎么办"]
    assert len(examples["ask_blind_massage"]) == 4 and done.held_back == 1
    check = yaml.safe_load(done.check_path.read_text(encoding="utf-8"))["questions"]
    assert len(check) == 1 and check[0]["expect"] == "13"
    assert check[0]["q"] not in "\n".join(examples["ask_blind_massage"])
    # The decision is fitted on the trained ones too, labelled with their entries.
    fit = yaml.safe_load(done.fit_path.read_text(encoding="utf-8"))["questions"]
    assert sorted(q["expect"] for q in fit) == ["13", "13", "13", "13", "3", "out_of_scope"]
    assert check[0]["q"] not in [q["q"] for q in fit]
    # Nothing left to train on: the training file goes, so make trains on data/ alone.
    for row in log.reviews():
        log.undo_review(row["normalized"])
    assert reviewed.export(log, tmp_path / "training").train_path is None
    assert not (tmp_path / "training" / "reviewed.yml").exists()


def _age(path, table, column, days):
    old = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="milliseconds")
    with sqlite3.connect(path) as conn:
        conn.execute(f"update {table} set {column} = ?", [old])


def test_reviews_follow_retention_and_kept_examples_stay(make_settings, log):
    settings = make_settings(conversation_db=log.path)
    log.record(turn("api:a", "残疾人开网店有没有补贴", kind="out_of_scope"))
    log.record(turn("api:b", "二手车过户怎么办", kind="out_of_scope"))
    groups = {g.key: g for g in review.queue(log)}
    review.record(log, groups["残疾人开网店有没有补贴"], verdict="entry", label="3",
                  reviewer="王", keep=True, check_share=0.2)  # fmt: skip
    review.record(log, groups["二手车过户怎么办"], verdict="not_covered", label="out_of_scope",
                  reviewer="王", keep=False, check_share=0.2)  # fmt: skip
    log.close()
    for table, column in (("turns", "time"), ("reviews", "asked")):
        _age(log.path, table, column, settings.retention_days + 1)
    retention.purge(settings)
    assert log.reviews() == []
    kept = log.labelled_questions()
    assert [(r["question"], r["label"]) for r in kept] == [("残疾人开网店有没有补贴", "3")]
    assert set(kept[0]) == {"normalized", "question", "label", "held_back"}


def test_forgetting_a_conversation_drops_the_reviews_of_its_words(make_settings, log):
    settings = make_settings(conversation_db=log.path)
    log.record(turn("api:a", "残疾人开网店有没有补贴", kind="out_of_scope"))
    log.record(turn("api:b", "二手车过户怎么办", kind="out_of_scope"))
    for group in review.queue(log):
        review.record(log, group, verdict="not_covered", label="out_of_scope", reviewer="王",
                      keep=False, check_share=0.2)  # fmt: skip
    log.close()
    retention.forget(settings, "api:a")
    assert [r["question"] for r in log.reviews()] == ["二手车过户怎么办"]


# -- the gate and the switch ----------------------------------------------------------------


def scores(test_before, test_after, check_before=(0, 0), check_after=(0, 0)):
    def s(pair):
        return {"right": pair[0], "count": pair[1]}

    return {
        "current": {"test": s(test_before), "check": s(check_before)},
        "candidate": {"test": s(test_after), "check": s(check_after)},
    }


def test_the_gate_allows_a_retrains_noise_on_the_test_set_and_one_question_on_real_ones():
    assert retrain.gate(scores((300, 400), (298, 400)))[0]
    assert retrain.gate(scores((300, 400), (310, 400), (5, 10), (4, 10)))[0]
    passed, why = retrain.gate(scores((300, 400), (297, 400)))
    assert not passed and "冻结测试集 300/400 → 297/400（少答对 3 题，超过 2 题）" in why
    passed, why = retrain.gate(scores((300, 400), (305, 400), (8, 10), (6, 10)))
    assert not passed and "真实问题留出集 8/10 → 6/10" in why
    assert "真实问题留出集是空的" in retrain.gate(scores((1, 2), (1, 2)))[1]


def test_fewer_epochs_keep_the_pipeline():
    small = yaml.safe_load(retrain.with_epochs(retrain.CONFIG, 3))
    full = yaml.safe_load(retrain.CONFIG.read_text(encoding="utf-8"))
    assert [c["name"] for c in small["pipeline"]] == [c["name"] for c in full["pipeline"]]
    [diet] = [c for c in small["pipeline"] if c["name"] == "DIETClassifier"]
    assert diet["epochs"] == 3 and small["policies"] == full["policies"]


def test_the_inputs_hash_is_the_makefiles(tmp_path):
    """make's MODEL_HASH recipe, run in bash on the same files: after a switch, `make run`
    must see the model as current (Makefile MODEL_INPUTS: the fixed files and data/**.yml)."""
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "$(REVIEWED)" in makefile.split("MODEL_INPUTS =", 1)[1].splitlines()[0]
    for name in retrain.MAKE_INPUT_FILES[1:]:
        assert name in makefile.split("MODEL_INPUTS =", 1)[1].splitlines()[0]
    reviewed_file = tmp_path / "reviewed.yml"
    reviewed_file.write_text("nlu: []\n", encoding="utf-8")
    script = (
        '{ cat config.yml domain.yml $(find data -type f -name "*.yml" | sort) '
        f"{' '.join(retrain.MAKE_INPUT_FILES)} {reviewed_file}; "
        "grep -iE '^(rasa|rasa-sdk|tensorflow[a-z_-]*|keras|spacy|jieba|numpy|scipy|scikit-learn)==' "
        "requirements.lock; } | sha256sum | cut -c1-16"
    )
    shell = subprocess.run(
        ["bash", "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert shell.stdout.strip() == retrain.make_inputs_hash(reviewed_file)


def test_reports_newest_first(make_settings):
    settings = make_settings(retrain_dir=make_settings().log_dir.parent / "retrain")
    settings.retrain_dir.mkdir(parents=True)
    for run_id in ("20261101T000000Z", "20261201T000000Z"):
        (settings.retrain_dir / f"{run_id}.json").write_text(json.dumps({"id": run_id}))
    assert [r["id"] for r in retrain.reports(settings)] == ["20261201T000000Z", "20261101T000000Z"]
    assert not retrain.running(settings)
    with retrain.exclusive(settings):
        assert retrain.running(settings)
        with pytest.raises(retrain.RetrainBusy), retrain.exclusive(settings):
            pass


def test_reviewed_export_from_the_command_line(tmp_path, monkeypatch, capsys, log):
    from bot.cli import commands as cli
    from bot.settings import get_settings

    log.record(turn("api:a", "残疾人开网店有没有补贴", kind="out_of_scope"))
    [group] = review.queue(log)
    review.record(log, group, verdict="entry", label="3", reviewer="王", keep=False,
                  check_share=0.2)  # fmt: skip
    monkeypatch.setenv("CONVERSATION_DB", str(log.path))
    monkeypatch.setenv("SECRET_KEY", "test-secret-key-that-is-long-enough-000")
    get_settings.cache_clear()
    try:
        assert cli.main(["reviewed", "export", "--out", str(tmp_path / "out")]) == 0
    finally:
        get_settings.cache_clear()
    assert "训练例句 1 条" in capsys.readouterr().out
    assert "残疾人开网店有没有补贴" in (tmp_path / "out" / "reviewed.yml").read_text()
    result = subprocess.run(
        [sys.executable, "-m", "bot", "reviewed", "export", "--help"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0 and "reviewed_check.yml" in result.stdout
