"""The benchmark package imports, its scenarios keep the plug-in interface, and its writers produce valid output.

No load is run here and nothing is timed: the figures themselves come from ``make bench``.
"""

from __future__ import annotations

import json
import os

import pytest
from flask import Flask

from bench import report
from bench.scenarios import NAMES, all_scenarios, load
from bench.scenarios._features import rule_for
from bench.scenarios.exam_day import evaluate, to_stored


def fake_run() -> dict:
    return {
        "machine": {"cpu_model": "Test CPU | 2 GHz", "cores": 2, "ram_gib": 4.0, "python": "3.11.7",
                    "sqlite": "3.40.1", "postgresql": "16.4", "git_commit": "abc123", "date": "2026-11-27 12:00 UTC"},
        "settings": {"server": "gunicorn 2 workers x 4 threads"},
        "options": {"quick": True, "db": ["sqlite"], "only": None},
        "duration_seconds": 12.5,
        "results": [
            {"scenario": "r0_hello", "db": "sqlite", "status": "ok",
             "rows": [{"name": "GET /bench/hello", "requests": 1000, "failures": 0, "server_errors": 0,
                       "rps": 900.5, "ratio_to_r0": 1.0, "p50": 9.0, "p95": 40.0, "p99": 60.0}]},
            {"scenario": "exam_day", "db": "sqlite", "status": "ok", "goal": "0 lost", "goal_met": True,
             "rows": [{"name": "capacity: autosave", "requests": 10, "failures": 1, "server_errors": 0, "rps": 90.0,
                       "ratio_to_r0": 0.1, "p50": 80.0, "p95": None, "p99": 100.0, "goal": "≥ 0.5 × R0",
                       "goal_met": False}],
             "notes": ["autosave is 0.4 short"], "profile": ["py-spy, 10 samples", "  50.0%  f (x.py)"]},
            {"scenario": "roster_import", "db": "sqlite", "status": "ok", "ratio": 3.5, "ratio_label": "re-import",
             "figures": [{"name": "rows", "value": 10000, "unit": ""}, {"name": "import", "value": 3.2, "unit": "s"}]},
            {"scenario": "pdf_list", "db": "sqlite", "status": "skipped", "reason": "the PDF list is not here"},
        ],
    }


def _table_rows(markdown: str) -> list[list[str]]:
    return [line for line in markdown.splitlines() if line.startswith("|")]


def test_every_scenario_keeps_the_plug_in_interface():
    modules = all_scenarios()
    assert [m.NAME for m in modules] == NAMES
    for module in modules:
        assert module.TITLE
        assert callable(module.available) and callable(module.run)


def test_an_unknown_scenario_is_refused():
    with pytest.raises(KeyError):
        load("no-such-scenario")


def test_results_are_written_as_valid_json_and_markdown(tmp_path):
    run = fake_run()
    md_path, json_path = report.write_results(run, tmp_path)
    assert json.loads(json_path.read_text(encoding="utf-8")) == run
    markdown = md_path.read_text(encoding="utf-8")
    assert markdown.startswith("# Benchmark results")
    # Every row of a table has as many cells as its header: a "|" inside a value is escaped.
    tables, current = [], []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    assert len(tables) >= 4
    for table in tables:
        widths = {len(row.replace("\\|", "").split("|")) for row in table}
        assert len(widths) == 1, table
    assert "| r0_hello | sqlite | GET /bench/hello | 1,000 | 0 | 0 | 900.5 | 1.00 |" in markdown
    assert "≥ 0.5 × R0: MISSED" in markdown
    assert "3.50 (re-import)" in markdown
    assert "**pdf_list** (sqlite): skipped: the PDF list is not here" in markdown
    assert "  50.0%  f (x.py)" in markdown


def test_the_readme_block_is_replaced_and_the_rest_kept(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{report.README_START}\nold figures\n{report.README_END}\noutro\n", encoding="utf-8")
    assert report.update_readme(readme, fake_run())
    text = readme.read_text(encoding="utf-8")
    assert "old figures" not in text
    assert text.startswith("intro\n") and text.endswith(f"{report.README_END}\noutro\n")
    assert "900.5" in text
    assert not report.update_readme(tmp_path / "missing.md", fake_run())


def test_exam_day_finds_the_api_routes_by_method_and_path():
    app = Flask(__name__)
    app.add_url_rule("/api/v1/attempts/<int:attempt_id>/submit", "submit", lambda attempt_id: "", methods=["POST"])
    assert rule_for(app, "POST", "/api/v1/attempts/", "/submit") is not None
    assert rule_for(app, "PUT", "/api/v1/attempts/", "/submit") is None
    assert rule_for(app, "POST", "/api/v1/exams/", "/attempts") is None


def test_the_product_app_has_no_benchmark_route(app):
    assert not [rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/bench")]


def test_the_database_check_counts_lost_answers_and_unfinished_attempts():
    acks = [
        {"k": "start", "attempt": "1"}, {"k": "start", "attempt": "2"},
        {"k": "save", "attempt": "1", "position": 1, "response": "A", "seq": 1},
        {"k": "save", "attempt": "1", "position": 1, "response": "B", "seq": 2},  # the latest wins
        {"k": "save", "attempt": "1", "position": 2, "response": ["A", "C"], "seq": 3},
        {"k": "save", "attempt": "2", "position": 1, "response": True, "seq": 1},
        {"k": "submit", "attempt": "1"}, {"k": "submit", "attempt": "2"},
    ]
    attempts = {"1": {"status": "submitted", "finished_at": "x"}, "2": {"status": "in_progress", "finished_at": None}}
    items = {
        ("1", 1): ("B", 2, []),
        ("1", 2): (["D", "A"], 3, ["D", "B", "A", "C"]),  # displayed A, C are original D, A
        ("2", 1): (False, 1, []),  # acknowledged True, stored False: lost
    }
    check = evaluate(acks, attempts, items, [], {"1", "2"})
    assert check["lost_answers"] == 1 and check["lost_examples"][0]["attempt"] == "2"
    assert check["acknowledged_items"] == 3 and check["acknowledged_saves"] == 4
    assert check["acknowledged_but_not_finished"] == 1 and check["expected_finished_but_open"] == 1
    assert check["attempts_missing"] == 0 and check["submits_acknowledged_twice"] == 0


def test_a_newer_stored_answer_is_not_a_lost_one():
    acks = [{"k": "save", "attempt": "1", "position": 1, "response": "A", "seq": 4}]
    items = {("1", 1): ("C", 5, [])}  # a later save reached the server though its answer never did
    assert evaluate(acks, {"1": {"status": "submitted", "finished_at": "x"}}, items, [], set())["lost_answers"] == 0
    assert to_stored(["B", "A"], ["C", "D"]) == ["C", "D"]


def test_the_plan_runs_every_scenario_on_both_databases_and_the_pdf_list_once():
    from bench.__main__ import ASSUMED_SECONDS, plan

    steps = plan(list(NAMES), ["sqlite", "postgresql"], quick=False)
    pairs = {(db, name) for db, name, _ in steps}
    for name in NAMES:
        expected = {"sqlite"} if name == "pdf_list" else {"sqlite", "postgresql"}
        assert {db for db, n in pairs if n == name} == expected, name
    # the load scenarios of every database come before any scale check
    kinds = ["load" if n in {"r0_hello", "login_form", "home_page", "api_me", "exam_day"} else "scale"
             for _, n, _ in steps]
    assert kinds == sorted(kinds)
    assert all(seconds <= ASSUMED_SECONDS[n] for _, n, seconds in steps if n in ASSUMED_SECONDS)


def test_the_time_line_says_where_the_time_went_and_what_was_skipped_for_it():
    run = fake_run()
    run["budget"] = {"budget_seconds": 900, "setup_seconds": 95.2, "database_setup_seconds": {"sqlite": 3.0},
                     "planned_seconds": 880, "scenario_seconds": 700.0, "total_seconds": 910.4,
                     "within_budget": False, "skipped_for_time": ["pdf_list/sqlite"]}
    run["results"][0].update(seconds=12.3, estimate_seconds=11)
    markdown = report.render_markdown(run)
    assert ("Time: 910 s in all (virtualenvs, packages and catalogues 95 s; sqlite set-up 3 s; scenarios 700 s), "
            "OVER the budget of 900 s (planned 880 s). Skipped for time: pdf_list/sqlite") in markdown
    assert "r0_hello/sqlite 12 (11)" in markdown


@pytest.mark.skipif(not (os.environ.get("DATABASE_URL") or "").startswith("postgres"),
                    reason="needs the PostgreSQL server of the suite's PostgreSQL run")
def test_the_bench_creates_its_postgresql_database_on_a_fresh_machine():
    """A fresh machine has only the ``test`` database; ``make bench`` must not need one made by hand."""
    import secrets

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from bench.context import ensure_database
    from exam.config import normalise_database_url

    name = f"bench_fresh_{secrets.token_hex(4)}"
    url = make_url(normalise_database_url(os.environ["DATABASE_URL"])).set(database=name)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        assert ensure_database(url.render_as_string(hide_password=False)) is True
        assert ensure_database(url.render_as_string(hide_password=False)) is False  # idempotent
        with admin.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}) == 1
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def test_cpu_per_request_is_read_over_the_window_and_split_by_party():
    from bench.cpu import Sampler, Snapshot, per_request

    sampler = Sampler([], database=True)
    # at, server, database, load, busy, steal, total: two cores, the second to the fourth second of a run
    # (two workers: the second did three quarters of the server's work in the window)
    sampler.samples = [Snapshot(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, (0.0, 0.0)),
                       Snapshot(1.0, 0.5, 0.1, 1.0, 1.8, 0.0, 2.0, (0.25, 0.25)),
                       Snapshot(2.0, 1.5, 0.6, 1.2, 3.6, 0.1, 4.0, (0.5, 1.0)),
                       Snapshot(3.0, 2.5, 1.1, 1.4, 5.2, 0.2, 6.0, (0.75, 1.75))]
    spent = sampler.spent(1.5, 3.0)
    assert spent["seconds"] == 1.0 and spent["server"] == 1.0 and spent["database"] == 0.5
    assert spent["steal_share"] == 0.05  # 0.1 of 2 core-seconds
    assert spent["busy_share"] == 0.8  # 1.6 of 2 core-seconds used
    assert spent["busiest_worker_share"] == 0.75
    assert per_request(spent, 500) == {"server": 2.0, "database": 1.0, "load": 0.4, "busy": 3.2}
    assert sampler.spent(2.5, 2.9) is None  # fewer than two samples: no figure rather than a wrong one
    run = {"machine": {}, "results": [{"scenario": "exam_day", "db": "postgresql", "status": "ok", "rows": [
        {"name": "capacity: submit", "requests": 1000, "rps": 500.0, "cpu_seconds": spent, "cpu_requests": 500}]}]}
    assert ("| exam_day | postgresql | capacity: submit | 2.0 | 1.0 | 0.4 | 3.2 | 80% | 75% | 5.0% |"
            in report.render_markdown(run))


def test_a_repeated_phase_is_reported_with_its_cpu_worker_share_and_cost_against_the_load_tool():
    from bench.phases import line

    spent = {"busy_share": 0.86, "busiest_worker_share": 0.5}
    ms = {"server": 1.6, "database": 1.5, "load": 0.35, "busy": 3.5}
    text = line({"rep": 2, "submits": 1000, "rps": 482.0, "r0": 2157.0, "ratio": 482 / 2157, "ms": ms,
                 "spent": spent})
    assert text.startswith("phase 2: 1000 submits, 482/s, R0 2157/s, 0.223 × R0")
    assert "busy 86%, busiest worker 50%" in text and "machine ÷ load tool 10.00" in text
    assert line({"rep": 3, "error": "too few submits or no R0"}) == "phase 3: too few submits or no R0"


def test_the_submit_figure_is_the_median_of_its_phases():
    from bench.scenarios.exam_day import median_phase

    assert median_phase([0.30, 0.20, 0.40]) == 0
    assert median_phase([None, 0.50, 0.10]) == 2  # no figure counts as 0
    assert median_phase([0.25, 0.35]) == 0  # an even count: the lower middle
    assert median_phase([0.31]) == 0


def test_papers_copied_for_another_submit_phase_are_open_whatever_their_template_became(app, make_user):
    """The submit phase's repetitions copy a paper the first phase has already finished: the copies must be open
    (a finished copy would only be read by its submit, and the phase would measure nothing)."""
    from sqlalchemy import select

    from bench.scenarios.exam_day import clone_attempts
    from exam.exams import operations as ops
    from exam.exams.models import Attempt, AttemptItem
    from exam.extensions import db
    from tests.exams import factories as f

    first, second = make_user("A0001"), make_user("A0002")
    with app.app_context():
        f.standard_bank()
        exam, other = f.published_exam(), f.published_exam()
        db.session.commit()
        attempt = ops.start_attempt(exam, db.session.get(type(first), first.id))
        db.session.commit()
        ops.finish_attempt(attempt, by="examinee")
        db.session.commit()
        template, other_id = attempt.id, other.id
        assert attempt.status == "submitted" and attempt.score is not None
    made = clone_attempts(app, [first.username, second.username], {0: str(template)}, exam_id=other_id)
    with app.app_context():
        copies = [db.session.get(Attempt, int(a)) for a in made.values()]
        assert sorted(c.user_id for c in copies) == sorted([first.id, second.id])
        for copy in copies:
            assert (copy.exam_id, copy.status, copy.finished_at, copy.finished_by, copy.score, copy.passed,
                    copy.band) == (other_id, "in_progress", None, None, None, None, None)
            items = db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == copy.id)).all()
            assert len(items) == len(db.session.get(Attempt, template).items) > 0
