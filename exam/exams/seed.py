"""Demo exams: a finished annual law exam with attempts for most staff, a published qualification exam open now
(质量技术监督), and an open practice set. Draws from whatever active questions exist and adds a small set of
demo questions when the bank is too thin."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from exam.accounts.models import User
from exam.core.timeutil import utcnow
from exam.exams import drawing
from exam.exams import operations as ops
from exam.extensions import db
from question_bank.models import Category, Question, QuestionVersion
from question_bank.types import normalise_stem

ANNUAL_SECTIONS = [
    {"title": "单项选择题", "type": "single", "count": 10, "points": 4},
    {"title": "多项选择题", "type": "multiple", "count": 5, "points": 6},
    {"title": "判断题", "type": "true_false", "count": 15, "points": 2},
]
DEMO_LAWS = ["行政处罚法", "行政许可法", "行政强制法", "产品质量法", "计量法", "标准化法", "特种设备安全法"]


def _ensure_questions(rng: random.Random) -> int:
    """Enough active questions of each type for the demo papers; returns how many were added."""
    today = utcnow().date()
    added = 0
    category = None
    for section in ANNUAL_SECTIONS:
        have = len(drawing.drawable_ids(section["type"], drawing.ResolvedFilters(), today))
        need = section["count"] * 2 - have  # twice a paper: resits and practice draw unseen questions
        for n in range(max(0, need)):
            if category is None:
                category = db.session.scalar(select(Category).where(Category.name == "演示题库")) or Category(
                    name="演示题库")
                db.session.add(category)
            law = rng.choice(DEMO_LAWS)
            kind = section["type"]
            stem = f"依据《中华人民共和国{law}》，关于执法程序的表述第{n + 1}条（{kind}）"
            if kind == "single":
                options = [{"key": k, "text": f"{law}规定的情形{k}"} for k in "ABCD"]
                answer = rng.choice("ABCD")
            elif kind == "multiple":
                options = [{"key": k, "text": f"{law}规定的要求{k}"} for k in "ABCD"]
                answer = sorted(rng.sample("ABCD", rng.choice([2, 3])))
            else:
                options, answer = [], rng.random() < 0.5
            question = Question(type=kind, status="active", category=category, difficulty=rng.randint(1, 5),
                                current_number=1, stem_key=normalise_stem(stem)[:255], source="演示数据")
            question.versions.append(QuestionVersion(number=1, type=kind, stem=stem, options=options, answer=answer,
                                                     explanation=f"本题考查《{law}》的相关规定。"))
            db.session.add(question)
            added += 1
    db.session.flush()
    return added


def exam_data(title, purpose, opens_at, closes_at, **extra) -> dict:
    data = {"title": title, "purpose": purpose, "certificate_category": None, "time_limit_minutes": 60,
            "opens_at": opens_at, "closes_at": closes_at, "max_attempts": 1, "counting_attempt": "best",
            "pass_mark": 60, "bands": {"优秀": 90, "良好": 80, "合格": 60}, "multiple_scoring": "all_or_nothing",
            "show_results": "immediately", "show_answers": "after_close", "focus_loss_limit": 0,
            "grace_seconds": None, "audience": {"everyone": True, "departments": [], "users": []},
            "sections": [dict(s, categories=[], tags=[], laws=[], difficulty=[1, 5]) for s in ANNUAL_SECTIONS]}
    data.update(extra)
    return data


def sit(attempt, rng: random.Random, skill: float, now) -> None:
    """Answer like a person of the given skill, then hand in."""
    for item in ops.items_with_versions(attempt):
        version = item.version
        if rng.random() < skill:
            answer = version.answer
        elif version.type == "true_false":
            answer = not version.answer
        elif version.type == "single":
            answer = rng.choice([o["key"] for o in version.options if o["key"] != version.answer])
        else:
            answer = [version.options[0]["key"]]
        # stored directly in original keys (what save_response stores) to keep the seed quick
        item.response, item.response_seq, item.saved_at = answer, 1, now
    attempt.last_saved_at = now
    db.session.flush()
    ops.finish_attempt(attempt, now=now)


def seed(rng: random.Random) -> list[str]:
    now = utcnow().replace(microsecond=0)
    added = _ensure_questions(rng)
    legal = db.session.scalar(select(User).join(User.role_rows).where(User.role_rows.any(role="legal")).limit(1))
    staff = list(db.session.scalars(select(User).where(User.employment_status == "active", User.active.is_(True))
                                    .order_by(User.username)))

    # A finished annual law exam (年度学法考试) held last month, taken by most staff.
    opens = now - timedelta(days=30)
    annual = ops.create_exam(exam_data(f"{opens.year}年度学法考试", "annual", opens, opens + timedelta(days=3),
                                        max_attempts=3, show_answers="after_close"), legal)
    ops.publish_exam(annual)
    taken = 0
    for user in staff:
        if rng.random() < 0.15:
            continue  # some never sat it: the participation rate is not 100 %
        start = opens + timedelta(hours=rng.randint(1, 60), minutes=rng.randint(0, 59))
        attempt = ops.start_attempt(annual, user, now=start)
        sit(attempt, rng, rng.uniform(0.45, 0.98), start + timedelta(minutes=rng.randint(15, 55)))
        taken += 1
    ops.close_exam(annual)

    # A qualification exam (资格考试) for 质量技术监督, open now for a week.
    qualification = ops.create_exam(exam_data(
        f"{now.year}年行政执法资格考试（公共法律知识）", "qualification", now - timedelta(hours=1),
        now + timedelta(days=7), certificate_category="质量技术监督", time_limit_minutes=90, max_attempts=2,
        show_answers="after_close", focus_loss_limit=3), legal)
    ops.publish_exam(qualification)

    # An open practice set (练习), answers shown at once.
    practice = ops.create_exam(exam_data("学法练习卷（随机组卷）", "practice", now - timedelta(days=1),
                                          now + timedelta(days=365), max_attempts=20, time_limit_minutes=30,
                                          show_answers="immediately"), legal)
    ops.publish_exam(practice)
    total = db.session.scalar(select(func.count()).select_from(Question).where(Question.status == "active"))
    return [f"Exams: {annual.title} (closed, {taken} attempts), {qualification.title} (open), "
            f"{practice.title} (practice); {total} active questions ({added} demo questions added)"]
