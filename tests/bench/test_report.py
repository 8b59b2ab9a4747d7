from tests.bench import figures, report
from tests.bench.report import MISS, NOT_MEASURED, PASS, at_least, at_most, info


def test_targets_pass_and_miss():
    assert at_most("s", "chat p95", 39.9, 40, "ms").status == PASS
    assert at_most("s", "chat p95", 40.0, 40, "ms").status == PASS
    assert at_most("s", "chat p95", 41.0, 40, "ms").status == MISS
    assert at_least("s", "16: answered/s", 60.0, 60, "msg/s").status == PASS
    assert at_least("s", "16: answered/s", 59.9, 60, "msg/s").status == MISS
    assert at_most("s", "errors", 0, 0, "", target="0").status == PASS
    assert at_most("s", "errors", 3, 0, "", target="0").status == MISS


def test_missing_values_are_not_measured_and_figures_without_targets_are_info():
    skipped = at_most("s", "cold start", None, 15, "s", note="skipped")
    assert skipped.status == NOT_MEASURED
    assert skipped.shown == "skipped"
    assert at_least("s", "answered/s", 50.0, None, "msg/s").status == NOT_MEASURED
    assert info("s", "parse p50", 11.23, "ms").status == "-"


def test_targets_are_written_from_the_limit():
    assert at_most("s", "chat p95", 1.0, 40, "ms").target == "≤ 40.0 ms"
    assert at_most("s", "ratio", 1.0, 2.5, "x").target == "≤ 2.50×"
    assert at_least("s", "rate", 1.0, 60, "msg/s").target == "≥ 60.0 msg/s"


def test_table_lists_every_figure_with_value_target_and_status():
    table = report.table(
        [
            at_most("latency", "chat p95", 52.4, 40, "ms"),
            info("latency", "parse p50", 11.0, "ms"),
            at_most("start-up", "training the model", 171.2, 120, "s"),
            at_most("start-up", "cold start", 12.0, 15, "s"),
        ]
    )
    lines = table.splitlines()
    assert lines[0].split() == ["figure", "value", "target"]
    assert "[latency]" in lines
    chat = next(line for line in lines if line.startswith("chat p95"))
    assert chat.split()[-4:] == ["≤", "40.0", "ms", "MISS"]
    assert "52.4 ms" in chat
    assert next(line for line in lines if line.startswith("cold start")).endswith("PASS")
    assert lines[-1] == "targets: 1 PASS, 2 MISS"


def test_markdown_table_has_a_row_per_figure_and_section():
    md = report.markdown_table([at_most("memory", "total", 1.2, 1.6, "GB")])
    assert md.splitlines()[2] == "| **memory** | | | |"
    assert md.splitlines()[3] == "| total | 1.20 GB | ≤ 1.60 GB | PASS |"


def test_memory_target_depends_on_the_number_of_rasa_processes():
    rss = {"launcher": 55.0, "gateway": 90.0, "action_server": 135.0, "rasa": 1085.0}
    one = figures.memory_figures(rss, 1)[-1]
    assert one.value == (90 + 135 + 1085) / 1000  # the launcher is left out
    assert one.status == PASS and one.target.startswith("≤ 1.6 GB")
    two = figures.memory_figures(rss | {"rasa-2": 1085.0}, 2)[-1]
    assert two.status == PASS and two.target.startswith("≤ 2.4 GB")


def test_training_time_from_the_file_or_not_measured(tmp_path):
    assert figures.read_training(tmp_path / "training.json") is None
    absent = figures.startup_figures(None, None)
    assert absent[1].shown == figures.FROM_CACHE
    assert absent[0].status == NOT_MEASURED
    path = tmp_path / "training.json"
    path.write_text('{"seconds": 171, "inputs": "ab", "finished": "2024-01-01T00:00:00"}')
    trained = figures.startup_figures(None, figures.read_training(path))[1]
    assert trained.value == 171 and trained.status == MISS
