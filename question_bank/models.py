"""Laws, categories, tags, and questions with immutable versions.

A question's content lives in ``QuestionVersion`` rows that are never changed: an edit adds a version and
moves ``Question.current_number``. Attempts point at the version they used, so history never changes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam.core.timeutil import utcnow
from exam.extensions import db
from question_bank.types import QUESTION_TYPES, QuestionType

QUESTION_STATUSES = ("draft", "active", "retired")


class Law(db.Model):
    """A law or regulation (法律法规). Amended or repealed laws send their questions to review."""

    __tablename__ = "laws"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    short_name: Mapped[str | None] = mapped_column(String(64))
    effective_on: Mapped[date | None]
    amended_on: Mapped[date | None]
    repealed_on: Mapped[date | None]

    def usable_on(self, day: date) -> bool:
        """Questions citing this law may be drawn into papers on ``day``."""
        return not any(d is not None and d <= day for d in (self.amended_on, self.repealed_on))

    def __repr__(self) -> str:
        return f"<Law {self.name}>"


class Category(db.Model):
    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("parent_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"), index=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    parent: Mapped[Category | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Category]] = relationship(back_populates="parent", order_by="Category.sort_order")

    @property
    def path(self) -> str:
        names, node, seen = [], self, set()
        while node is not None and node.id not in seen:
            seen.add(node.id)
            names.append(node.name)
            node = node.parent
        return "/".join(reversed(names))


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)


question_tags = Table(
    "question_tags",
    db.metadata,
    Column("question_id", ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Question(db.Model):
    __tablename__ = "questions"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'active', 'retired')", name="known_status"),
        CheckConstraint("difficulty BETWEEN 1 AND 5", name="difficulty_range"),
        CheckConstraint(
            "type IN ('single', 'multiple', 'true_false', 'fill_blank', 'case_analysis')", name="known_type"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(10), default="draft", index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"), index=True)
    law_id: Mapped[int | None] = mapped_column(ForeignKey("laws.id", ondelete="RESTRICT"), index=True)
    article: Mapped[str | None] = mapped_column(String(64))  # e.g. 第三十二条
    difficulty: Mapped[int] = mapped_column(Integer, default=3)
    source: Mapped[str | None] = mapped_column(String(100))  # source bulletin, e.g. 2016年第8期
    current_number: Mapped[int] = mapped_column(Integer, default=1)
    stem_key: Mapped[str] = mapped_column(String(255), index=True)  # normalised stem, for duplicates
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    review_reason: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    category: Mapped[Category | None] = relationship()
    law: Mapped[Law | None] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=question_tags, order_by="Tag.name")
    versions: Mapped[list[QuestionVersion]] = relationship(
        back_populates="question", order_by="QuestionVersion.number", cascade="all, delete-orphan"
    )
    current: Mapped[QuestionVersion] = relationship(
        primaryjoin=lambda: and_(
            QuestionVersion.question_id == Question.id, QuestionVersion.number == Question.current_number
        ),
        viewonly=True,
        uselist=False,
    )

    @property
    def qtype(self) -> QuestionType:
        return QUESTION_TYPES[self.type]


class QuestionVersion(db.Model):
    """One immutable version of a question's content."""

    __tablename__ = "question_versions"
    __table_args__ = (UniqueConstraint("question_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(20))
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list] = mapped_column(JSON, default=list)  # [{"key": "A", "text": "..."}]
    answer: Mapped[Any] = mapped_column(JSON)  # "A" | ["A", "C"] | true | [["答案"]] | {"reference": ...}
    explanation: Mapped[str | None] = mapped_column(Text)  # 解析
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    question: Mapped[Question] = relationship(back_populates="versions")

    @property
    def qtype(self) -> QuestionType:
        return QUESTION_TYPES[self.type]

    def grade(self, response: Any, points: float, partial: bool = False) -> float | None:
        return self.qtype.grade(self.options, self.answer, response, points, partial)


@event.listens_for(QuestionVersion, "before_update")
def _versions_are_immutable(_mapper, _connection, version: QuestionVersion) -> None:
    """Attempts point at versions: a version's content never changes once written (an edit adds a version)."""
    raise ValueError(f"question version {version.id} is immutable; save an edit as a new version")
