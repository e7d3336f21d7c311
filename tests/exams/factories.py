"""Build questions and exams directly with the models (no question-bank operations needed)."""

from __future__ import annotations

from datetime import timedelta

from exam.core.timeutil import utcnow
from exam.exams import operations as ops
from exam.extensions import db
from question_bank.models import Category, Law, Question, QuestionVersion, Tag

OPTS4 = [{"key": k, "text": f"选项{k}"} for k in "ABCD"]


def category(name: str, parent: Category | None = None) -> Category:
    node = Category(name=name, parent=parent)
    db.session.add(node)
    db.session.flush()
    return node


def question(qtype: str = "single", *, cat: Category | None = None, answer=None, options=None, status="active",
             difficulty: int = 3, law: Law | None = None, tags: list[Tag] | None = None, stem: str | None = None,
             explanation: str = "解析：依法作答。", needs_review: bool = False) -> Question:
    defaults = {
        "single": ("A", OPTS4),
        "multiple": (["A", "C"], OPTS4),
        "true_false": (True, []),
        "fill_blank": ([["十五日", "15日"]], []),
        "case_analysis": ({"reference": "参考答案", "scoring_points": [{"text": "定性", "points": 5}]}, []),
    }
    default_answer, default_options = defaults[qtype]
    q = Question(type=qtype, status=status, category=cat, difficulty=difficulty, law=law, current_number=1,
                 stem_key=stem or f"{qtype}-{id(object())}", needs_review=needs_review, tags=tags or [])
    db.session.add(q)
    db.session.flush()
    q.stem_key = f"{qtype}{q.id}"
    q.versions.append(QuestionVersion(number=1, type=qtype, stem=stem or f"第{q.id}题（{qtype}）题干",
                                      options=options if options is not None else default_options,
                                      answer=default_answer if answer is None else answer,
                                      explanation=explanation))
    db.session.flush()
    return q


def new_version(q: Question, **changes) -> QuestionVersion:
    current = q.current
    version = QuestionVersion(number=q.current_number + 1, type=q.type, stem=changes.get("stem", current.stem),
                              options=changes.get("options", current.options),
                              answer=changes.get("answer", current.answer), explanation=current.explanation)
    q.versions.append(version)
    q.current_number = version.number
    db.session.flush()
    return version


def bank(cat: Category, **counts) -> list[Question]:
    return [question(t, cat=cat) for t, n in counts.items() for _ in range(n)]


def exam_data(categories=("公共法律知识",), *, sections=None, **overrides) -> dict:
    now = utcnow()
    data = {
        "title": "测试考试", "purpose": "qualification", "certificate_category": "质量技术监督",
        "time_limit_minutes": 60, "opens_at": now - timedelta(hours=1), "closes_at": now + timedelta(hours=5),
        "max_attempts": 2, "counting_attempt": "best", "pass_mark": 6, "bands": {"优秀": 90, "良好": 80, "合格": 60},
        "multiple_scoring": "all_or_nothing", "show_results": "immediately", "show_answers": "after_close",
        "focus_loss_limit": 0, "grace_seconds": None,
        "audience": {"everyone": True, "departments": [], "users": []},
        "sections": sections or [
            {"title": "单项选择题", "type": "single", "count": 4, "points": 1, "categories": list(categories)},
            {"title": "多项选择题", "type": "multiple", "count": 2, "points": 2, "categories": list(categories)},
            {"title": "判断题", "type": "true_false", "count": 2, "points": 1, "categories": list(categories)},
        ],
    }
    data.update(overrides)
    return data


def published_exam(creator=None, **overrides):
    exam = ops.create_exam(exam_data(**overrides), creator)
    ops.publish_exam(exam)
    return exam


def standard_bank(name: str = "公共法律知识", **counts):
    cat = category(name)
    counts = counts or {"single": 8, "multiple": 4, "true_false": 4}
    return cat, bank(cat, **counts)
