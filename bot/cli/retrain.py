"""`python -m bot retrain`: a retrain that cannot make the assistant worse.

1. export the labelled questions (bot/console/reviewed.py);
2. train a candidate Rasa model on data/ plus the export, into RETRAIN_DIR/<id>/ (the running
   model is not touched);
3. `python -m tests.eval compare` (one process, so Rasa loads once): fit the candidate's answer
   decision on the development set with the candidate's parses, and score the running model
   and decision and the candidate on the frozen test set and on the held-back real questions;
4. the gate: the candidate goes live only if neither score drops by more than its MAX_DROP
   questions; otherwise the running model stays and the report says why;
5. the switch: the candidate replaces models/assistant.tar.gz (a file rename), every Rasa
   server the launcher started loads it (`PUT /model`, one server at a time, so the other
   keeps answering), and models/decision.json is replaced (the action server and the gateway
   reload it when its modification time changes: knowledge.answering.open_decision).

Every run writes RETRAIN_DIR/<id>.json: progress while it runs, then the scores before and
after, the examples added, the verdict and the time taken. The console lists them.
Rasa runs in child processes: `bot/` never imports it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from bot.chat.conversation_log import ConversationLog
from bot.chat.log_schema import database_target
from bot.cli.launcher import child_env
from bot.cli.model_switch import load_model, rasa_servers, replace_file
from bot.console.reviewed import TRAINING_DIR, export
from bot.settings import REPO_ROOT, Settings
from knowledge.yaml_files import load_yaml

FROZEN_TEST = REPO_ROOT / "tests" / "eval" / "test.yml"
CONFIG = REPO_ROOT / "config.yml"
DOMAIN = REPO_ROOT / "domain.yml"
DATA = REPO_ROOT / "data"
# The gate: a candidate may miss at most this many more questions than the running model on
# each set. On the frozen test set, the slack is the largest drop a retrain with right labels has
# shown (400 -> 398 on 2026-11-30; others moved it up, 391 -> 394, 400 -> 403). Every development
# policy question marked "not covered" took it from 403 to 400 on 2026-12-01, once the decision
# read the development text model's "not covered": a drop of 3 is refused. The held-back real
# questions keep one question of slack.
MAX_DROP = {"test": 2, "check": 1}
STEPS = ("export", "train", "compare", "gate", "switch")
# Fine-tuning runs this share of config.yml's DIET epochs over all the data, reviewed examples
# included (rasa train --epoch-fraction): 15 of 30, about half a full training's time.
FINETUNE_EPOCH_FRACTION = 0.5
STEP_NAMES = {
    "export": "导出标注",
    "train": "训练候选模型",
    "compare": "拟合回答决策并打分",
    "gate": "比较新旧分数",
    "switch": "切换到新模型",
}
SET_NAMES = {"test": "冻结测试集", "check": "真实问题留出集"}
# What make's model rule hashes (Makefile MODEL_INPUTS, MODEL_PACKAGES), so that after a
# switch `make run` sees the model as current and does not train it again.
MODEL_PACKAGES = re.compile(
    r"^(rasa|rasa-sdk|tensorflow[a-z_-]*|keras|spacy|jieba|numpy|scipy|scikit-learn)==",
    re.IGNORECASE,
)
MAKE_INPUT_FILES = (
    "knowledge/lexicon.yml",
    "knowledge/nlp.py",
    "knowledge/lexicon.py",
    "knowledge/segment.py",
    "knowledge/jieba_tokenizer.py",
    "rasa_plugins/words_classifier.py",
)


class RetrainBusy(Exception):
    """Another retrain holds the lock."""


def new_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def reports(settings: Settings, limit: int = 20) -> list[dict[str, Any]]:
    """The latest retrain reports, newest first."""
    folder = settings.retrain_dir
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.json"), reverse=True)[:limit]:
        try:
            found.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return found


@contextmanager
def exclusive(settings: Settings) -> Iterator[None]:
    """One retrain at a time (a lock file; released when the process ends, even by a kill)."""
    settings.retrain_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.retrain_dir / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RetrainBusy("另一次重新训练正在进行") from None
        yield


def running(settings: Settings) -> bool:
    if not (settings.retrain_dir / ".lock").is_file():
        return False  # never ran here (and a page view creates nothing)
    try:
        with exclusive(settings):
            return False
    except RetrainBusy:
        return True


class Run:
    """One retrain and its report file."""

    def __init__(
        self,
        settings: Settings,
        *,
        run_id: str | None = None,
        training_dir: Path = TRAINING_DIR,
        epochs: int | None = None,
        c_grid: list[float] | None = None,
        epoch_fraction: float | None = None,
        say=print,
    ) -> None:
        self.settings = settings
        self.id = run_id or new_id()
        self.model = settings.rasa_model
        self.training_dir = Path(training_dir)
        self.decision = settings.decision_model
        self.epochs = epochs
        self.c_grid = c_grid
        self.epoch_fraction = epoch_fraction or FINETUNE_EPOCH_FRACTION
        self.say = say
        self.work = settings.retrain_dir / self.id
        self.path = settings.retrain_dir / f"{self.id}.json"
        self.started = time.monotonic()
        self.report: dict[str, Any] = {
            "id": self.id,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "status": "running",
            "step": None,
            "steps": list(STEPS),
            "epochs": epochs,
            "timings": {},
        }

    # -- the report --------------------------------------------------------------------
    def save(self) -> None:
        self.report["seconds"] = round(time.monotonic() - self.started, 1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps(self.report, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.report["step"] = name
        self.save()
        self.say(f"· {STEP_NAMES[name]}……")
        began = time.monotonic()
        yield
        self.report["timings"][name] = round(time.monotonic() - began, 1)

    def finish(self, status: str, reason: str) -> dict[str, Any]:
        self.report.update(
            status=status,
            reason=reason,
            step=None,
            finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        self.save()
        # The candidate is in models/ now, or not wanted: 30 MB less per run.
        (self.work / "candidate.tar.gz").unlink(missing_ok=True)
        self.say(reason)
        return self.report

    # -- the steps ---------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        try:
            with exclusive(self.settings):
                return self._run()
        except RetrainBusy as exc:
            return self.finish("failed", f"没有重新训练：{exc}。")
        except StepFailed as exc:
            return self.finish("failed", f"重新训练失败：{exc}。运行中的模型没有变。")
        except Exception as exc:
            # The report must not say "running" forever.
            self.finish("failed", f"重新训练出错（{type(exc).__name__}：{exc}）。")
            raise

    def _run(self) -> dict[str, Any]:
        if not self.model.is_file():
            raise StepFailed(f"没有正在用的模型 {self.model}（先运行 make setup）")
        self.work.mkdir(parents=True, exist_ok=True)
        with self.step("export"):
            log = ConversationLog(database_target(self.settings), self.settings.secret_key, 5)
            try:
                exported = export(log, self.training_dir)
            finally:
                log.close()
            self.report["examples"] = {
                "trained": exported.examples,
                "by_intent": dict(exported.trained),
                "held_back": exported.held_back,
                "left_out": len(exported.left_out),
            }
        with self.step("train"):
            candidate = self.train(exported.train_path)
        with self.step("compare"):
            scores = self.compare(candidate, exported.check_path, exported.fit_path)
        with self.step("gate"):
            passed, reason = gate(scores)
            self.report["before"] = {k: _score(scores["current"][k]) for k in SET_NAMES}
            self.report["after"] = {k: _score(scores["candidate"][k]) for k in SET_NAMES}
            self.report["check_results"] = scores["candidate"]["check"].get("results", [])
            self.report["decision_cv"] = scores.get("fit", {}).get("cv_accuracy")
        if not passed:
            return self.finish("kept", f"没有切换，继续用原来的模型：{reason}。")
        with self.step("switch"):
            switched = self.switch(candidate, self.work / "decision.json", exported.train_path)
        self.report["servers"] = switched
        return self.finish("switched", f"已切换到新模型：{reason}。" + _servers_line(switched))

    def train(self, reviewed: Path | None) -> Path:
        config = CONFIG
        if self.epochs is not None:
            config = self.work / "config.yml"
            config.write_text(with_epochs(CONFIG, self.epochs), encoding="utf-8")
        args = [sys.executable, "-m", "rasa", "train", "--config", str(config)]
        args += ["--domain", str(DOMAIN), "--data", str(DATA)]
        args += [str(reviewed)] if reviewed else []
        args += ["--out", str(self.work), "--fixed-model-name", "candidate", "--num-threads", "2"]
        # Fine-tuned from the running model, not trained afresh: a new random start moved the
        # frozen test score by up to 6 questions with 3 examples added (the retrain test, small
        # model), more than the gate allows for; continuing from the running weights keeps what
        # it answers and learns the reviewed examples. Same pipeline, same labels (Rasa checks).
        args += ["--finetune", str(self.model), "--epoch-fraction", str(self.epoch_fraction)]
        self._child(args, self.work / "train.log", "训练")
        return self.work / "candidate.tar.gz"

    def compare(self, candidate: Path, check: Path, fit: Path | None = None) -> dict[str, Any]:
        out = self.work / "scores.json"
        args = [sys.executable, "-m", "tests.eval", "compare", "--model", str(self.model)]
        args += ["--decision", str(self.decision), "--candidate", str(candidate)]
        args += ["--candidate-decision", str(self.work / "decision.json")]
        args += ["--questions", str(FROZEN_TEST), "--questions", str(check), "--out", str(out)]
        args += ["--fit-extra", str(fit)] if fit else []
        if self.c_grid:
            args += ["--c-grid", *map(str, self.c_grid)]
        else:
            # The running decision's strengths (chosen by cross-validation when make fitted
            # it): a new search would move the decision by more than the labels do.
            strengths = running_strengths(self.decision)
            args += ["--strengths", *map(str, strengths)] if strengths else []
        self._child(args, self.work / "compare.log", "打分")
        raw = json.loads(out.read_text(encoding="utf-8"))
        stems = {"test": FROZEN_TEST.stem, "check": check.stem}
        return {
            "fit": raw.get("fit", {}),
            **{
                who: {k: raw[who][stem] for k, stem in stems.items()}
                for who in ("current", "candidate")
            },
        }

    def _child(self, args: list[str], log_path: Path, what: str) -> None:
        # TensorFlow's deterministic kernels: the same labels give the same candidate model, so
        # a retrain (and its test) is repeatable rather than a draw of thread timing.
        env = child_env(
            {"KNOWLEDGE_DB": str(self.settings.knowledge_db), "TF_DETERMINISTIC_OPS": "1"}
        )
        with open(log_path, "wb") as log:
            code = subprocess.run(
                args, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False
            ).returncode
        if code != 0:
            raise StepFailed(f"{what}出错（退出码 {code}），请看 {log_path}")

    def switch(self, candidate: Path, decision: Path, reviewed: Path | None) -> list[dict]:
        """The candidate becomes the running model: the files first (a rename each, so a
        reader sees the old file or the new one), then every Rasa server loads it."""
        replace_file(candidate, self.model)
        run_dir = self.settings.log_dir.parent / "run"
        servers = [
            load_model(url, token, self.model, run_dir)
            for url, token in rasa_servers(self.settings)
        ]
        # After the model: make's rule wants the decision newer than the model.
        replace_file(decision, self.decision)
        if self.epochs is None:
            (self.model.parent / "inputs.sha").write_text(make_inputs_hash(reviewed) + "\n")
        return servers


class StepFailed(Exception):
    pass


def gate(scores: dict[str, Any]) -> tuple[bool, str]:
    """Whether the candidate may go live, and why (Chinese, for the report)."""
    parts, passed = [], True
    for key, name in SET_NAMES.items():
        before, after = scores["current"][key], scores["candidate"][key]
        if not before["count"]:
            parts.append(f"{name}是空的")
            continue
        drop = before["right"] - after["right"]
        parts.append(
            f"{name} {before['right']}/{before['count']} → {after['right']}/{after['count']}"
        )
        if drop > MAX_DROP[key]:
            passed = False
            parts[-1] += f"（少答对 {drop} 题，超过 {MAX_DROP[key]} 题）"
    return passed, "，".join(parts)


def _score(score: dict[str, Any]) -> dict[str, Any]:
    return {"right": score["right"], "count": score["count"]}


def _servers_line(servers: list[dict]) -> str:
    if not servers:
        return "没有正在运行的 Rasa，下次启动时用新模型。"
    bad = [s for s in servers if not s["ok"]]
    if bad:
        return f"有 {len(bad)} 个 Rasa 没能加载新模型（{bad[0]['error']}），它们重启后会用新模型。"
    seconds = "、".join(f"{s['seconds']:.0f}" for s in servers)
    return f"{len(servers)} 个 Rasa 已逐个加载新模型（各用 {seconds} 秒）。"


def running_strengths(decision: Path) -> tuple[float, float] | None:
    """(route C, entry C) of the running decision, from its report; None if unknown."""
    try:
        report = json.loads(decision.read_text(encoding="utf-8"))["report"]
        return float(report["c_route"]), float(report["c_entry"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def with_epochs(config: Path, epochs: int) -> str:
    """config.yml with DIET's epochs changed, the pipeline otherwise the same."""
    data = load_yaml(config)
    for component in data["pipeline"]:
        if component.get("name") == "DIETClassifier":
            component["epochs"] = epochs
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def make_inputs_hash(reviewed: Path | None) -> str:
    """The Makefile's MODEL_HASH of the current inputs (config, domain, data, lexicon, the
    export, the pinned packages), computed the same way."""
    files = [REPO_ROOT / "config.yml", REPO_ROOT / "domain.yml"]
    files += sorted(DATA.rglob("*.yml"), key=lambda p: str(p.relative_to(REPO_ROOT)))
    files += [REPO_ROOT / name for name in MAKE_INPUT_FILES]
    files += [reviewed] if reviewed else []
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    lock = (REPO_ROOT / "requirements.lock").read_text(encoding="utf-8")
    for line in lock.splitlines(keepends=True):
        if MODEL_PACKAGES.match(line):
            digest.update(line.encode("utf-8"))
    return digest.hexdigest()[:16]
