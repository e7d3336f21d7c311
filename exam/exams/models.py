"""Exams, their blueprints (sections), attempts with their drawn papers, focus events, the wrong-answer book.

Times are naive UTC. An attempt's ``deadline`` is stored when it starts (and moved only by extra time):
``min(started_at + time limit + extra time, closes_at)``. Responses are stored in the question's ORIGINAL
option keys; ``option_order`` maps the displayed keys (A, B, ...) to the original ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam.core.timeutil import utcnow
from exam.extensions import db
from question_bank.models import Question

PURPOSES = {
    "qualification": _l("Qualification exam"),  # 资格考试
    "renewal": _l("Renewal exam"),  # 换证考试
    "annual": _l("Annual law exam"),  # 年度学法考试
    "competition": _l("Competition"),  # 竞赛
    "practice": _l("Practice"),  # 练习
}
EXAM_STATUSES = {"draft": _l("Draft"), "published": _l("Published"), "closed": _l("Closed")}
ATTEMPT_STATUSES = {
    "in_progress": _l("In progress"),
    "submitted": _l("Submitted"),
    "expired": _l("Finished at the deadline"),
}
SHOW_POLICIES = {"immediately": _l("Immediately"), "after_close": _l("After the window closes"), "never": _l("Never")}
DEFAULT_BANDS = {"优秀": 90, "良好": 80, "合格": 60}
FAIL_BAND = "不合格"

# The drawing index (declared here so the question-bank module stays untouched): the draw query of a section
# reads only this index, never the table (see exam/exams/drawing.py).
Index("ix_questions_draw", Question.type, Question.status, Question.needs_review, Question.category_id,
      Question.difficulty, Question.law_id)

exam_departments = Table(
    "exam_departments",
    db.metadata,
    Column("exam_id", ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True, index=True),
)
exam_users = Table(
    "exam_users",
    db.metadata,
    Column("exam_id", ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Exam(db.Model):
    __tablename__ = "exams"
    __table_args__ = (
        CheckConstraint(
            "purpose IN ('qualification', 'renewal', 'annual', 'competition', 'practice')", name="known_purpose"
        ),
        CheckConstraint("status IN ('draft', 'published', 'closed')", name="known_status"),
        CheckConstraint("counting_attempt IN ('best', 'last')", name="known_counting"),
        CheckConstraint("multiple_scoring IN ('all_or_nothing', 'partial')", name="known_scoring"),
        CheckConstraint("show_results IN ('immediately', 'after_close', 'never')", name="known_show_results"),
        CheckConstraint("show_answers IN ('immediately', 'after_close', 'never')", name="known_show_answers"),
        CheckConstraint("time_limit_minutes > 0", name="positive_time_limit"),
        CheckConstraint("max_attempts >= 1", name="positive_attempts"),
        CheckConstraint("closes_at > opens_at", name="window_order"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(20), index=True)
    certificate_category: Mapped[str | None] = mapped_column(String(64), index=True)
    time_limit_minutes: Mapped[int] = mapped_column(Integer)
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    counting_attempt: Mapped[str] = mapped_column(String(8), default="best")
    pass_mark: Mapped[float] = mapped_column(Float, default=60)  # points of the paper's total
    # Percent of the maximum score each band starts at; below the lowest band is 不合格.
    bands: Mapped[dict] = mapped_column(JSON, default=lambda: dict(DEFAULT_BANDS))
    multiple_scoring: Mapped[str] = mapped_column(String(16), default="all_or_nothing")
    show_results: Mapped[str] = mapped_column(String(16), default="immediately")
    show_answers: Mapped[str] = mapped_column(String(16), default="after_close")
    focus_loss_limit: Mapped[int] = mapped_column(Integer, default=0)  # 0: only recorded
    grace_seconds: Mapped[int | None] = mapped_column(Integer)  # None: EXAM_SUBMIT_GRACE_SECONDS
    status: Mapped[str] = mapped_column(String(10), default="draft", index=True)
    audience_everyone: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]

    sections: Mapped[list[ExamSection]] = relationship(
        back_populates="exam", order_by="ExamSection.position", cascade="all, delete-orphan"
    )
    departments = relationship("Department", secondary=exam_departments, order_by="Department.name")
    users = relationship("User", secondary=exam_users, order_by="User.username")

    @property
    def purpose_label(self) -> str:
        return str(PURPOSES.get(self.purpose, self.purpose))

    @property
    def status_label(self) -> str:
        return str(EXAM_STATUSES.get(self.status, self.status))

    @property
    def max_score(self) -> float:
        return float(sum(s.count * s.points for s in self.sections))

    def is_open_at(self, moment: datetime) -> bool:
        return self.status == "published" and self.opens_at <= moment < self.closes_at

    def window_closed_at(self, moment: datetime) -> bool:
        return moment >= self.closes_at or self.status == "closed"

    def policy_allows(self, policy: str, moment: datetime) -> bool:
        if policy == "immediately":
            return True
        if policy == "after_close":
            return self.window_closed_at(moment)
        return False

    def band_for(self, score: float, max_score: float) -> str:
        percent = 100.0 * score / max_score if max_score else 0.0
        for name, threshold in sorted((self.bands or {}).items(), key=lambda kv: -float(kv[1])):
            if percent + 1e-9 >= float(threshold):
                return name
        return FAIL_BAND


class ExamSection(db.Model):
    __tablename__ = "exam_sections"
    __table_args__ = (
        UniqueConstraint("exam_id", "position"),
        CheckConstraint("count >= 1", name="positive_count"),
        CheckConstraint("points > 0", name="positive_points"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(20))
    count: Mapped[int] = mapped_column(Integer)
    points: Mapped[float] = mapped_column(Float)
    # {"categories": [names or paths], "tags": [...], "laws": [...], "difficulty": [lo, hi]}
    filters: Mapped[dict] = mapped_column(JSON, default=dict)

    exam: Mapped[Exam] = relationship(back_populates="sections")


class Attempt(db.Model):
    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("exam_id", "user_id", "number"),
        CheckConstraint("status IN ('in_progress', 'submitted', 'expired')", name="known_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)
    # how the paper was drawn: [{"method": "seeded-rank-v1", "day": "YYYY-MM-DD"}] (see exam/exams/drawing.py)
    draw_record: Mapped[list] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline: Mapped[datetime]
    extra_seconds: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default="in_progress", index=True)
    finished_at: Mapped[datetime | None]
    finished_by: Mapped[str | None] = mapped_column(String(12))  # examinee / deadline / focus_limit
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float, default=0)
    passed: Mapped[bool | None] = mapped_column(Boolean)  # None until every item is graded
    band: Mapped[str | None] = mapped_column(String(16))
    focus_losses: Mapped[int] = mapped_column(Integer, default=0)
    last_saved_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    exam: Mapped[Exam] = relationship()
    user = relationship("User")
    items: Mapped[list[AttemptItem]] = relationship(
        back_populates="attempt", order_by="AttemptItem.position", cascade="all, delete-orphan"
    )

    @property
    def is_finished(self) -> bool:
        return self.status != "in_progress"

    @property
    def status_label(self) -> str:
        return str(ATTEMPT_STATUSES.get(self.status, self.status))

    @property
    def is_graded(self) -> bool:
        return self.is_finished and self.passed is not None

    def grace(self, default_seconds: int) -> timedelta:
        seconds = self.exam.grace_seconds if self.exam.grace_seconds is not None else default_seconds
        return timedelta(seconds=seconds)

    def remaining_seconds(self, now: datetime) -> int:
        if self.is_finished:
            return 0
        return max(0, int((self.deadline - now).total_seconds()))

    def is_expired(self, now: datetime, grace: timedelta) -> bool:
        """Past the deadline and the grace that covers requests already on their way."""
        return self.status == "in_progress" and now > self.deadline + grace


class AttemptItem(db.Model):
    """One question of an attempt's paper and its answer. On PostgreSQL the table's pages are filled to half
    (migration 0014): saves and grades update rows in place of their page (SQLAlchemy 2.0 has no table option
    for it, so the migration alone sets it; a test checks it)."""

    __tablename__ = "attempt_items"
    __table_args__ = (UniqueConstraint("attempt_id", "position"), UniqueConstraint("attempt_id", "question_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # 1-based
    section_id: Mapped[int | None] = mapped_column(ForeignKey("exam_sections.id", ondelete="SET NULL"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="RESTRICT"), index=True)
    question_version_id: Mapped[int] = mapped_column(
        ForeignKey("question_versions.id", ondelete="RESTRICT"), index=True
    )
    points: Mapped[float] = mapped_column(Float)
    option_order: Mapped[list] = mapped_column(JSON, default=list)  # displayed A, B, ... -> original key
    response: Mapped[Any] = mapped_column(JSON)  # in ORIGINAL option keys
    response_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    saved_at: Mapped[datetime | None]
    # The automatic grade of the stored answer, kept with every save (checked again at the finish); None for a
    # question graded by hand until it is graded. Shown only once the attempt has finished.
    awarded: Mapped[float | None] = mapped_column(Float)
    graded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    graded_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)

    attempt: Mapped[Attempt] = relationship(back_populates="items")
    section: Mapped[ExamSection | None] = relationship()
    version = relationship("QuestionVersion")
    question = relationship("Question")


class FocusEvent(db.Model):
    __tablename__ = "focus_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))  # hidden / blur


class WrongAnswer(db.Model):
    """The personal wrong-answer book (错题本): practice questions answered wrongly, until answered right."""

    __tablename__ = "wrong_answers"
    __table_args__ = (UniqueConstraint("user_id", "question_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    times_wrong: Mapped[int] = mapped_column(Integer, default=1)
    last_wrong_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_response: Mapped[Any] = mapped_column(JSON)
    resolved_at: Mapped[datetime | None]

    question = relationship("Question")
