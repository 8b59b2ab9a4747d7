"""`python -m knowledge …`: every command works, has help, and fails without a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.__main__ import main, make_parser

REPO = Path(__file__).resolve().parents[2]
COMMANDS = ["build", "search", "show", "department", "nlp"]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "knowledge", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_every_command_has_help(capsys):
    for command in COMMANDS:
        with pytest.raises(SystemExit) as exited:
            main([command, "--help"])
        assert exited.value.code == 0
        assert "usage: python -m knowledge " + command in capsys.readouterr().out
    assert set(make_parser()._subparsers._group_actions[0].choices) == set(COMMANDS)


def test_build_command(tmp_path, plan_source, capsys):
    target = tmp_path / "knowledge.db"
    assert main(["build", "--db", str(target), str(plan_source)]) == 0
    out = capsys.readouterr().out
    assert target.is_file()
    assert "22 条任务" in out and "4 项保障措施" in out and "3 个目标" in out


def test_search_command(kb_path, capsys):
    assert main(["search", "--db", str(kb_path), "盲人按摩考试"]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith("[二（八）13] 积极开展盲人按摩就业促进行动")
    assert "组织盲人参加盲人医疗按摩人员考试" in out
    assert "责任部门：各县（市、区）人民政府、市残联、市人社局、市卫健委" in out


def test_search_without_result_exits_non_zero(kb_path, capsys):
    assert main(["search", "--db", str(kb_path), "今天天气怎么样"]) == 1
    assert "没有找到" in capsys.readouterr().out


def test_show_command(kb_path, capsys):
    assert main(["show", "--db", str(kb_path), "13"]) == 0
    out = capsys.readouterr().out
    assert "二（八）13" in out and "应培尽培。" in out and "市卫健委" in out
    assert main(["show", "--db", str(kb_path), "三（三）"]) == 0
    assert "加大对残疾人就业的宣传力度" in capsys.readouterr().out
    assert main(["show", "--db", str(kb_path), "target-2500"]) == 0
    assert "2500人" in capsys.readouterr().out


def test_show_command_prints_the_easy_read_summary(kb_path, capsys):
    assert main(["show", "--db", str(kb_path), "6"]) == 0
    out = capsys.readouterr().out
    assert "易读：\n  就业难的残疾人，可以辅助性就业。\n  辅助性就业，就是在有人帮助的地方" in out


def test_department_command_accepts_aliases(kb_path, capsys):
    assert main(["department", "--db", str(kb_path), "卫健委"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "市卫健委"
    assert "[二（八）13]" in out and "[二（八）14]" in out and "[二（一）1]" not in out


def test_errors_are_clear_and_without_traceback(kb_path, tmp_path):
    missing = run("show", "13", env={"KNOWLEDGE_DB": str(tmp_path / "none.db")})
    assert missing.returncode != 0
    assert "python -m knowledge build" in missing.stderr and "Traceback" not in missing.stderr

    unknown = run("show", "--db", str(kb_path), "99")
    assert unknown.returncode != 0 and "Traceback" not in unknown.stderr
    assert "99" in unknown.stderr

    nobody = run("department", "--db", str(kb_path), "市公安局")
    assert nobody.returncode != 0 and "市公安局" in nobody.stderr
    assert "Traceback" not in nobody.stderr


def test_broken_source_names_file_and_line(tmp_path, plan_source):
    broken = tmp_path / "broken.md"
    broken.write_text(
        plan_source.read_text(encoding="utf-8").replace(
            "市人社局、市卫健委]", "市人社局、市卫健委", 1
        ),
        encoding="utf-8",
    )
    result = run("build", "--db", str(tmp_path / "kb.db"), str(broken))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert f"{broken}:" in result.stderr and "unclosed" in result.stderr
    assert not (tmp_path / "kb.db").exists()


def test_nlp_command_builds_the_nlp_files(tmp_path, capsys):
    args = ["nlp", "--build-dir", str(tmp_path / "build"), "--nlu-dir", str(tmp_path / "nlu")]
    assert main(args) == 0
    assert (tmp_path / "build" / "jieba" / "lexicon.txt").is_file()
    assert (tmp_path / "build" / "spacy_zh" / "config.cfg").is_file()
    assert (tmp_path / "nlu" / "synonyms.yml").is_file()
    assert "spacy_zh" in capsys.readouterr().out


def test_show_command_lists_what_the_entry_mentions(kb_path, capsys):
    assert main(["show", "--db", str(kb_path), "13"]) == 0
    out = capsys.readouterr().out
    assert "涉及：盲人（人群）、盲人医疗按摩（主题）" in out.splitlines()


def test_nlp_module_is_the_nlp_command():
    # lexicon.yml tells editors to run `python -m knowledge.nlp`.
    result = subprocess.run(
        [sys.executable, "-m", "knowledge.nlp", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "--nlu-dir" in result.stdout
