"""Report aggregates kept up to date on write (see ``exam.reports.item_stats``).

* ``exam_results``: one row per person and exam with at least one finished attempt: how many finished attempts,
  how many finished automatically, and the counting attempt (per the exam's rule) with its score, percentage,
  result, band and histogram bin. ``department_id`` and ``staff`` copy the person's department and whether they
  are expected to take part (enabled, active or seconded); a database trigger on ``users`` keeps the copies
  current, so the audience of the report is always the audience *now*.
* ``exam_item_stats``: per exam, question version and stored response of choice questions (``choice``: the
  response as JSON text, '' for other types): the sums item analysis needs over the counting attempts (answers,
  blanks, awarded and possible points, and the Pearson sums of item share x paper percentage), except those of
  the ``exam_results`` rows marked ``sums_pending`` (added later in bulk; readers add them to these).
* ``exam_stats_state``: which exams have kept aggregates, and for which counting rule.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, SmallInteger, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from exam.core.timeutil import utcnow
from exam.extensions import db


class ExamResult(db.Model):
    __tablename__ = "exam_results"
    __table_args__ = (Index("ix_exam_results_score", "exam_id", "staff", "score"),
                      # the report's grouped pass reads this index in its GROUP BY order, without the table
                      Index("ix_exam_results_groups", "exam_id", "department_id", "band", "bin", "staff", "passed",
                            "attempt_id", "auto", "attempts", "score", "percent"),
                      # an exam's rows whose item sums are still to be added (item_stats.fold)
                      Index("ix_exam_results_pending", "exam_id", postgresql_where=text("sums_pending"),
                            sqlite_where=text("sums_pending = 1")),
                      {"sqlite_with_rowid": False})

    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    department_id: Mapped[int | None] = mapped_column(Integer)
    staff: Mapped[bool] = mapped_column(Boolean)
    attempts: Mapped[int] = mapped_column(Integer)
    auto: Mapped[int] = mapped_column(Integer)
    attempt_id: Mapped[int | None] = mapped_column(Integer)  # the counting attempt; None: awaiting grading
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float | None] = mapped_column(Float)
    percent: Mapped[float | None] = mapped_column(Float)  # 0..1
    passed: Mapped[bool | None] = mapped_column(Boolean)
    band: Mapped[str | None] = mapped_column(String(16))
    bin: Mapped[int | None] = mapped_column(Integer)
    # the counting attempt's answers are not yet in exam_item_stats (item_stats: first results on PostgreSQL)
    sums_pending: Mapped[bool] = mapped_column(Boolean, server_default=false())


class ExamItemStat(db.Model):
    __tablename__ = "exam_item_stats"
    __table_args__ = ({"sqlite_with_rowid": False},)

    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True)
    question_version_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    choice: Mapped[str] = mapped_column(Text, primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=0)  # item_stats.shards()
    position: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)
    blank: Mapped[int] = mapped_column(Integer)
    awarded: Mapped[float] = mapped_column(Float)
    points: Mapped[float] = mapped_column(Float)
    sx: Mapped[float] = mapped_column(Float)
    sy: Mapped[float] = mapped_column(Float)
    sxy: Mapped[float] = mapped_column(Float)
    sxx: Mapped[float] = mapped_column(Float)
    syy: Mapped[float] = mapped_column(Float)


class ExamStatsState(db.Model):
    __tablename__ = "exam_stats_state"

    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True)
    rule: Mapped[str] = mapped_column(String(32))
    built_at: Mapped[datetime] = mapped_column(default=utcnow)
