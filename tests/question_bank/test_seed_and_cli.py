from __future__ import annotations

import random
from collections import Counter

from sqlalchemy import select

from exam.core.timeutil import local_today
from exam.extensions import db
from question_bank import operations as ops
from question_bank.models import Law, Question
from question_bank.seed import seed
from tests.helpers import count_rows
from tests.question_bank.helpers import good_rows, xlsx


def test_seed_adds_at_least_300_valid_questions_of_every_type_across_the_laws(ctx):
    seed(random.Random(2026))
    questions = db.session.scalars(select(Question)).all()
    assert len(questions) >= 300
    types = Counter(q.type for q in questions)
    assert set(types) == {"single", "multiple", "true_false", "fill_blank", "case_analysis"}
    assert all(types[t] >= 5 for t in types)
    assert len({q.law_id for q in questions}) >= 10 and count_rows(Law) >= 10
    for q in questions:
        v = q.current
        assert not q.qtype.check(v.options, v.answer), v.stem
    assert {q.category.path.split("/")[0] for q in questions} == {"公共法律知识", "专业法律知识"}
    assert len(db.session.scalars(ops.drawable_query(local_today())).all()) == len(questions)


def test_cli_import_dry_run_and_export(app, tmp_path):
    path = tmp_path / "题库.xlsx"
    path.write_bytes(xlsx(good_rows()))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["questions", "import", str(path), "--dry-run"])
    assert result.exit_code == 0 and "would import 5" in result.output
    with app.app_context():
        assert count_rows(Question) == 0
    result = runner.invoke(args=["questions", "import", str(path), "--category", "公共法律知识"])
    assert result.exit_code == 0 and "imported 5" in result.output
    out = tmp_path / "out.gift"
    result = runner.invoke(args=["questions", "export", "-o", str(out), "--type", "single"])
    assert result.exit_code == 0 and "exported 1" in result.output
    assert "行政处罚的追责时效" in out.read_text(encoding="utf-8")


def test_cli_import_refuses_a_bad_file_and_names_the_rows(app, tmp_path):
    rows = [list(r) for r in good_rows()]
    rows[1][6] = "AZ"
    path = tmp_path / "bad.xlsx"
    path.write_bytes(xlsx(rows))
    result = app.test_cli_runner().invoke(args=["questions", "import", str(path)])
    assert result.exit_code == 1
    assert "第3行" in result.output
    with app.app_context():
        assert count_rows(Question) == 0
