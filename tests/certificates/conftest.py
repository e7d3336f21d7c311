"""Certificate fixtures. ``fake_sources`` stands in for the exams and study areas in rule tests; the
integration tests (test_integration.py) use real exam attempts and study records instead."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from exam.certificates import sources


class FakeSources:
    def __init__(self):
        self.passed: dict[tuple[int, str], list[sources.ExamResult]] = {}
        self.hours: dict[int, float] = {}
        self.unconfirmed: dict[int, list[str]] = {}
        self._attempt = 0

    def pass_exam(self, user, purpose="qualification", title="资格考试(公共法律知识)", subject="", days_ago=10,
                  score=85.0, on=None):
        self._attempt += 1
        finished = datetime.combine(on, datetime.min.time()) if on else datetime.utcnow() - timedelta(days=days_ago)
        result = sources.ExamResult(user_id=user.id, attempt_id=self._attempt, exam_id=1, exam_title=title,
                                    subject=subject, score=score,
                                    finished_at=finished)
        self.passed.setdefault((user.id, purpose), []).append(result)
        return result

    def passed_results(self, user_ids, *, purpose, category_name, since, until):
        out = {}
        for uid in user_ids:
            rows = [r for r in self.passed.get((uid, purpose), [])
                    if since <= r.finished_at.date() <= until]
            if rows:
                out[uid] = rows
        return out

    def training_hours(self, user_ids, start, end):
        return {uid: self.hours.get(uid, 0.0) for uid in user_ids}

    def unconfirmed_required_bulletins(self, user_ids, as_of):
        return {uid: self.unconfirmed[uid] for uid in user_ids if self.unconfirmed.get(uid)}


@pytest.fixture
def fake_sources(monkeypatch):
    fake = FakeSources()
    monkeypatch.setattr(sources, "passed_results", fake.passed_results)
    monkeypatch.setattr(sources, "training_hours", fake.training_hours)
    monkeypatch.setattr(sources, "unconfirmed_required_bulletins", fake.unconfirmed_required_bulletins)
    return fake


@pytest.fixture
def category(app):
    from exam.certificates import operations as ops
    from exam.extensions import db

    with app.app_context():
        cat = ops.ensure_category("质量技术监督", code="ZJ", area="全市", source_of_power="《产品质量法》授权")
        db.session.commit()
        return cat.id
