"""The review loop end to end on the real model: the whole stack on ports 8200-8299 with a copy
of the trained model and its decision, three unanswered questions labelled on the console,
`python -m bot retrain` (fine-tuned for a tenth of the epochs, to keep the test short), the
running Rasa switched and answering them as labelled; then a bad label set (every
policy question of the development sets marked "not covered") refused by the gate.

Nothing of the working tree's models/ or var/ is touched: copies of the model and the decision,
the conversation log, the exports and the reports live in a temporary folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
import yaml

from bot.chat.conversation_log import ConversationLog, normalize_question
from bot.cli import retrain
from bot.console import review
from bot.console.password_store import PasswordStore
from bot.console.passwords import set_password
from bot.settings import REPO_ROOT
from tests.eval import sets

pytestmark = pytest.mark.e2e

DOC = "黄政办发〔2022〕60号"
# A tenth of config.yml's 60 DIET epochs: the test's retrain takes about a minute of training.
EPOCH_FRACTION = 0.1
PORT = int(os.environ.get("RETRAIN_TEST_PORT_BASE", "8200"))
PASSWORD = "retrain-e2e-console-password"
KB = REPO_ROOT / "build" / "knowledge.db"
# Questions people might ask, with the entry that answers each (none is in the training data or
# the question sets); the test labels the first three the small base model leaves unanswered.
CANDIDATES = {
    "视障朋友推拿上岗证咋弄": "13",
    "坐轮椅的能不能摆摊卖烟": "2",
    "聋哑人学做糕点有没有地方教": "21",
    "残疾人家门口的小作坊有人扶持吗": "6",
    "村里残疾人种木耳有啥帮扶": "8",
    "帮残疾人找活的那种老师叫啥": "18",
    "残疾人在家能接啥活": "3",
    "瞎子按摩店咋开": "13",
    "拄拐的人守个烟摊要办啥证": "2",
    "耳朵背的学理发有补助不": "21",
    "跛脚的在屋里喂兔子有人管销路吗": "8",
    "腿脚不好的在村里搞大棚蔬菜有人帮吗": "8",
    "聋哑人想学开挖机有补贴不": "21",
    "拄拐杖的想在屋门口开个小卖部顺带卖烟": "2",
    "教残疾人干活的辅导员咋当": "18",
    "眼睛看不到的想开个推拿铺子": "13",
    "脑子不太灵光的娃能去哪做点简单手工活": "6",
    "聋子学修车哪里教": "21",
    "工地上摔残了以后还能找事做不": "19",
}
# The bad label set: every policy question of the development sets (1,110), reworded by a
# common opening and marked "not covered", as by a reviewer who marks everything so. Smaller wrong
# sets no longer moved the test set once the development set grew to 3,058 questions (80 as item
# 13: 391 -> 391; 240 marked "not covered": 393 -> 395): the decision, refitted on the development
# set, outweighed them; all 1,110 gave 394 -> 387. With the development text model's "not covered"
# as a route input the decision leans less on Rasa's intents: all of them (by then 3,020) gave
# 403 -> 400 on 2026-12-01. Questions of the frozen test set itself are left out of every export.
MODEL_FILES = ("assistant.tar.gz", "decision.json")


def _run(args, log: Path, env: dict, timeout: float = 1200) -> int:
    with open(log, "wb") as out:
        return subprocess.run(
            args,
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        ).returncode


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("retrain_e2e")


@pytest.fixture(scope="module")
def env(work):
    return {
        **os.environ,
        "APP_ENV": "development",
        "PYTHONHASHSEED": "0",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "RASA_TELEMETRY_ENABLED": "false",
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(PORT + 1),
        "RASA_URL": f"http://127.0.0.1:{PORT + 10}",
        "RASA_PROCESSES": "1",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{PORT + 20}",
        "RASA_MODEL": str(work / "models" / "assistant.tar.gz"),
        "DECISION_MODEL": str(work / "models" / "decision.json"),
        "KNOWLEDGE_DB": str(KB),
        "CONVERSATION_DB": str(work / "var" / "conversations.db"),
        "RASA_TRACKER_DB": str(work / "var" / "rasa_tracker.db"),
        "LOG_DIR": str(work / "var" / "logs"),
        "RETRAIN_DIR": str(work / "var" / "retrain"),
        "EVAL_PARSES_DIR": str(work / "parses"),
        "RATE_LIMIT_PER_MINUTE": "0",
        "RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "0",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture(scope="module")
def base(work, env):
    """The running model before any review: copies of the trained model and its decision."""
    missing = [
        p for p in (retrain.REPO_ROOT / "models" / n for n in MODEL_FILES) if not p.is_file()
    ]
    if missing or not KB.is_file():
        pytest.fail(f"the retrain test needs {missing or KB}: run `make setup` first")
    models = work / "models"
    models.mkdir(exist_ok=True)
    for name in MODEL_FILES:
        shutil.copyfile(REPO_ROOT / "models" / name, models / name)
    return models


@pytest.fixture(scope="module")
def stack(base, work, env):
    store = PasswordStore(Path(env["CONVERSATION_DB"]))
    set_password(store, PASSWORD)
    store.close()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=REPO_ROOT,
        env=env,
        stdout=open(work / "launcher.log", "wb"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{PORT + 1}"
    deadline = time.monotonic() + 420
    try:
        while not (work / "var" / "run" / "stack.json").is_file():
            assert process.poll() is None, (work / "launcher.log").read_text()
            assert time.monotonic() < deadline, (work / "launcher.log").read_text()
            time.sleep(2)
        yield base_url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ask(base_url: str, sender: str, text: str) -> dict:
    response = httpx.post(
        f"{base_url}/api/chat", json={"sender": sender, "message": text}, timeout=30
    )
    response.raise_for_status()
    return response.json()


def cited(reply: dict) -> str | None:
    sources = reply["sources"]
    return str(sources[0]["item"]) if sources and sources[0]["item"] is not None else None


def console(base_url: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=60, trust_env=False)
    page = client.get("/console/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    signed = client.post("/console/login", data={"password": PASSWORD, "csrf": csrf})
    assert signed.status_code in (200, 303) and "console_session" in client.cookies
    return client


def label_on_console(client: httpx.Client, labels: dict[str, str], most: int = 3) -> dict:
    """Label questions of the review queue through the review pages, as staff would (at most
    `most` of those in `labels`); the questions labelled."""
    done = {}
    queue = client.get("/console/review").text
    for key in re.findall(r'href="/console/review/question\?key=([^"]+)"', queue):
        page = client.get(f"/console/review/question?key={key}").text
        question = re.search(r'<h2 id="question-title">“([^”]+)”', page).group(1)
        if question not in labels or len(done) == most:
            continue
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        saved = client.post(
            "/console/review",
            data={
                "key": unquote(key),
                "choice": f"entry:{DOC}#{labels[question]}",
                "reviewer": "测试审核员",
                "csrf": csrf,
            },
        )
        assert saved.status_code in (200, 303), saved.text
        done[question] = labels[question]
    return done


def report(work: Path, run_id: str) -> dict:
    return json.loads((work / "var" / "retrain" / f"{run_id}.json").read_text(encoding="utf-8"))


def test_labels_teach_the_assistant_and_a_bad_label_set_is_refused(stack, work, env, base):
    # 1. Three questions the small model does not answer (nothing cited), labelled by staff.
    before = {q: ask(stack, f"before-{i}", q) for i, q in enumerate(CANDIDATES)}
    unanswered = {q: CANDIDATES[q] for q, r in before.items() if not r["sources"]}

    # 2. Staff label three of them on the console's review page.
    client = console(stack)
    labelled = label_on_console(client, unanswered)
    print(f"\nlabelled: {labelled}")
    assert len(labelled) == 3, before
    queued = re.findall(r'review/question\?key=([^"]+)"', client.get("/console/review").text)
    assert not {normalize_question(q) for q in labelled} & {unquote(k) for k in queued}

    # 3. Retrain: exported, trained, gated, switched.
    retrain_cmd = [sys.executable, "-m", "bot", "retrain", "--epoch-fraction", str(EPOCH_FRACTION)]
    retrain_cmd += ["--training-dir", str(work / "training")]
    began = time.monotonic()
    code = _run([*retrain_cmd, "--id", "good"], work / "good.log", env)
    seconds = time.monotonic() - began
    good = report(work, "good")
    print(f"\nretrain (switched): {seconds:.0f} s; {json.dumps(good, ensure_ascii=False)[:1500]}")
    assert code == 0 and good["status"] == "switched", (work / "good.log").read_text()
    assert good["examples"]["trained"] == len(labelled)
    test_before, test_after = good["before"]["test"], good["after"]["test"]
    assert test_after["right"] >= test_before["right"] - retrain.MAX_DROP["test"]
    assert (
        f"{test_before['right']}/{test_before['count']} → {test_after['right']}" in good["reason"]
    )
    assert [s["ok"] for s in good["servers"]] == [True], "the running Rasa loaded the candidate"
    nlu = yaml.safe_load((work / "training" / "reviewed.yml").read_text(encoding="utf-8"))["nlu"]
    assert sorted(line for b in nlu for line in b["examples"].splitlines()) == sorted(
        f"- {q}" for q in labelled
    )

    # 4. The running assistant now answers them as labelled.
    after = {q: ask(stack, f"after-{i}", q) for i, q in enumerate(labelled)}
    assert {q: cited(r) for q, r in after.items()} == labelled

    # 5. The console shows the report.
    page = client.get("/console/retrain").text
    assert "已切换到新模型" in page and f"{test_before['right']}/{test_before['count']}" in page
    client.close()

    # 6. A bad label set: every policy question of the development sets marked "not covered".
    running = hashlib.sha256((base / "assistant.tar.gz").read_bytes()).hexdigest()
    questions = [q for q in sets.dev() if str(q["expect"]).isdigit()]
    log = ConversationLog(Path(env["CONVERSATION_DB"]), "dev-only-secret-change-me")
    try:
        bad = []
        for i, q in enumerate(questions):
            asked = f"请问{q['q']}"
            ask(stack, f"bad-{i}", asked)
            # Labelled wrong whether the assistant answered it or not (the queue only lists
            # those it did not): a reviewer who marks everything "not covered".
            key = normalize_question(asked)
            member = {"normalized": key, "asked": 1, "people": 1, "last": "2026-01-01"}
            bad.append(review.Group(key, [member], {key: {"message": asked}}))
        for group in bad:
            review.record(log, group, verdict="not_covered", label="out_of_scope", reviewer="测试",
                          keep=False, check_share=0.2)  # fmt: skip
    finally:
        log.close()
    assert len(bad) > 1000
    code = _run([*retrain_cmd, "--id", "bad"], work / "bad.log", env)
    refused = report(work, "bad")
    print(f"\nretrain (bad labels): {json.dumps(refused, ensure_ascii=False)[:1500]}")
    assert code == 3 and refused["status"] == "kept", (work / "bad.log").read_text()
    assert "没有切换" in refused["reason"] and "少答对" in refused["reason"]
    assert hashlib.sha256((base / "assistant.tar.gz").read_bytes()).hexdigest() == running
    assert {q: cited(ask(stack, f"still-{i}", q)) for i, q in enumerate(labelled)} == labelled
