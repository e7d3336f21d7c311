"""Study bulletins (学法材料), read receipts, training sessions and their attendance."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam.accounts.models import Department, User
from exam.core.timeutil import utcnow
from exam.extensions import db
from question_bank.models import Law

BULLETIN_STATUSES = {
    "draft": _l("Draft"),
    "published": _l("Published"),
    "withdrawn": _l("Withdrawn"),
}
AUDIENCES = {"all": _l("Everyone"), "departments": _l("Chosen departments")}
SESSION_KINDS = {"session": _l("Training session"), "lecture": _l("Lecture")}
UPLOAD_FOLDER = "bulletins"

bulletin_laws = Table(
    "bulletin_laws",
    db.metadata,
    Column("bulletin_id", ForeignKey("bulletins.id", ondelete="CASCADE"), primary_key=True),
    Column("law_id", ForeignKey("laws.id", ondelete="RESTRICT"), primary_key=True, index=True),
)

bulletin_departments = Table(
    "bulletin_departments",
    db.metadata,
    Column("bulletin_id", ForeignKey("bulletins.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id", ondelete="RESTRICT"), primary_key=True, index=True),
)


class Bulletin(db.Model):
    """One numbered issue, e.g. 2026年第3期. ``search_text`` is the plain text of the body, for search."""

    __tablename__ = "bulletins"
    __table_args__ = (
        UniqueConstraint("year", "number"),
        CheckConstraint("status IN ('draft', 'published', 'withdrawn')", name="known_status"),
        CheckConstraint("audience IN ('all', 'departments')", name="known_audience"),
        CheckConstraint("number >= 1", name="positive_number"),
        CheckConstraint("hours >= 0", name="hours_not_negative"),
        CheckConstraint("original_kind IS NULL OR original_kind IN ('pdf', 'docx')", name="known_original_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    body_source: Mapped[str] = mapped_column(Text, default="")  # as written (Markdown or HTML)
    body_format: Mapped[str] = mapped_column(String(10), default="markdown")
    body_html: Mapped[str] = mapped_column(Text, default="")  # sanitised
    search_text: Mapped[str] = mapped_column(Text, default="")  # plain text of body and original
    original_name: Mapped[str | None] = mapped_column(String(200))  # shown and offered for download only
    original_stored: Mapped[str | None] = mapped_column(String(64))  # generated name in the instance folder
    original_kind: Mapped[str | None] = mapped_column(String(10))
    original_size: Mapped[int | None] = mapped_column(Integer)
    original_html: Mapped[str | None] = mapped_column(Text)  # DOCX converted and sanitised
    audience: Mapped[str] = mapped_column(String(16), default="all")
    required_by: Mapped[date | None] = mapped_column(index=True)
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("0"))
    status: Mapped[str] = mapped_column(String(10), default="draft", index=True)
    published_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    laws: Mapped[list[Law]] = relationship(secondary=bulletin_laws, order_by="Law.name")
    departments: Mapped[list[Department]] = relationship(secondary=bulletin_departments, order_by="Department.name")
    created_by: Mapped[User | None] = relationship()

    @property
    def issue_label(self) -> str:
        return f"{self.year}年第{self.number}期"

    @property
    def status_label(self) -> str:
        return str(BULLETIN_STATUSES.get(self.status, self.status))

    @property
    def is_published(self) -> bool:
        return self.status == "published"

    @property
    def has_pdf(self) -> bool:
        return self.original_kind == "pdf" and bool(self.original_stored)

    def is_overdue_on(self, day: date) -> bool:
        return self.required_by is not None and self.required_by < day

    def __repr__(self) -> str:
        return f"<Bulletin {self.issue_label}>"


class ReadReceipt(db.Model):
    """A person's reading of a bulletin. ``confirmed_at`` is set once; the hours are credited with it."""

    __tablename__ = "read_receipts"
    __table_args__ = (
        UniqueConstraint("user_id", "bulletin_id"),
        CheckConstraint("hours_credited >= 0", name="hours_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), index=True)
    first_opened_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None] = mapped_column(index=True)
    hours_credited: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("0"))

    user: Mapped[User] = relationship()
    bulletin: Mapped[Bulletin] = relationship()


class TrainingSession(db.Model):
    """A training session or lecture (培训、讲座); each attendee is credited its hours."""

    __tablename__ = "training_sessions"
    __table_args__ = (
        CheckConstraint("kind IN ('session', 'lecture')", name="known_kind"),
        CheckConstraint("hours > 0", name="hours_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10), default="session")
    held_on: Mapped[date] = mapped_column(index=True)
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    organiser: Mapped[str | None] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by: Mapped[User | None] = relationship()
    attendances: Mapped[list[TrainingAttendance]] = relationship(
        back_populates="session", cascade="all, delete-orphan"
    )

    @property
    def kind_label(self) -> str:
        return str(SESSION_KINDS.get(self.kind, self.kind))


class TrainingAttendance(db.Model):
    __tablename__ = "training_attendances"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    session: Mapped[TrainingSession] = relationship(back_populates="attendances")
    user: Mapped[User] = relationship()
