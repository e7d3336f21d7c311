"""Enforcement certificates (行政执法证), their categories, qualifying exams, numbering and holders' photos."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from flask_babel import lazy_pgettext
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam.accounts.models import User
from exam.core.timeutil import utcnow
from exam.extensions import db

STATUSES = {
    "valid": lazy_pgettext("certificate status", "Valid"),  # 有效
    "suspended": lazy_pgettext("certificate status", "Suspended"),  # 暂扣
    "withdrawn": lazy_pgettext("certificate status", "Withdrawn"),  # 收回
    "revoked": lazy_pgettext("certificate status", "Revoked"),  # 吊销
    "cancelled": lazy_pgettext("certificate status", "Cancelled"),  # 注销
    "expired": lazy_pgettext("certificate status", "Expired"),  # 过期
}
HELD_STATUSES = ("valid", "suspended")  # a person holds at most one of these per category
# Which status changes HR may make; renewal and expiry are separate operations.
TRANSITIONS = {
    "valid": {"suspended", "withdrawn", "revoked", "cancelled"},
    "suspended": {"valid", "withdrawn", "revoked", "cancelled"},
}


def new_token() -> str:
    return secrets.token_urlsafe(24)  # 192 bits: not guessable, not enumerable


class EnforcementCategory(db.Model):
    """执法类别, e.g. 质量技术监督; the exams that qualify for it are its requirements."""

    __tablename__ = "enforcement_categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # used in certificate numbers
    validity_years: Mapped[int | None] = mapped_column(Integer)  # None: the global setting
    default_area: Mapped[str | None] = mapped_column(String(100))  # 执法区域
    default_source_of_power: Mapped[str | None] = mapped_column(String(200))  # 执法权来源
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    requirements: Mapped[list[CategoryRequirement]] = relationship(
        back_populates="category", cascade="all, delete-orphan", order_by="CategoryRequirement.id"
    )


class CategoryRequirement(db.Model):
    """One exam a person must have passed: by purpose (qualification/renewal) and optionally by subject.

    A subject (e.g. 公共法律知识, 专业法律知识) matches exams whose subject or title contains it, so a category
    can require two exams.
    """

    __tablename__ = "category_requirements"
    __table_args__ = (
        UniqueConstraint("category_id", "purpose", "subject"),
        CheckConstraint("purpose IN ('qualification', 'renewal', 'annual')", name="known_purpose"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("enforcement_categories.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(64), default="")

    category: Mapped[EnforcementCategory] = relationship(back_populates="requirements")


class Certificate(db.Model):
    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint(
            "status IN ('valid', 'suspended', 'withdrawn', 'revoked', 'cancelled', 'expired')", name="known_status"
        ),
        CheckConstraint("valid_until > issued_on", name="validity_after_issue"),
        # One held certificate per person and category, kept by the database itself.
        Index(
            "uq_certificates_one_held_per_category",
            "holder_id",
            "category_id",
            unique=True,
            sqlite_where=text("status IN ('valid', 'suspended')"),
            postgresql_where=text("status IN ('valid', 'suspended')"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("enforcement_categories.id", ondelete="RESTRICT"), index=True)
    enforcement_body: Mapped[str] = mapped_column(String(100))  # 执法主体
    area: Mapped[str] = mapped_column(String(100))  # 执法区域
    source_of_power: Mapped[str] = mapped_column(String(200))  # 执法权来源
    issued_on: Mapped[date]
    valid_until: Mapped[date] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default="valid", index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_effective_on: Mapped[date | None]
    status_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status_changed_at: Mapped[datetime | None]
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id", ondelete="RESTRICT"))
    verification_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_review_year: Mapped[int | None] = mapped_column(Integer)  # 年审 passed for this year

    holder: Mapped[User] = relationship(foreign_keys=[holder_id])
    category: Mapped[EnforcementCategory] = relationship()
    replaces: Mapped[Certificate | None] = relationship(remote_side=[id])
    bases: Mapped[list[CertificateBasis]] = relationship(back_populates="certificate", cascade="all, delete-orphan")

    def is_valid_on(self, day: date) -> bool:
        return self.status == "valid" and self.issued_on <= day <= self.valid_until

    @property
    def status_label(self) -> str:
        return str(STATUSES.get(self.status, self.status))


class CertificateBasis(db.Model):
    """A passed exam attempt a certificate was issued or renewed on."""

    __tablename__ = "certificate_bases"

    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"), primary_key=True)
    attempt_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # exams' attempt id (kept after exams change)
    exam_title: Mapped[str] = mapped_column(String(200))
    score: Mapped[float | None]
    finished_at: Mapped[datetime | None]

    certificate: Mapped[Certificate] = relationship(back_populates="bases")


class CertificateCounter(db.Model):
    """Running number per category and year; allocation is an atomic UPDATE ... RETURNING."""

    __tablename__ = "certificate_counters"

    category_id: Mapped[int] = mapped_column(ForeignKey("enforcement_categories.id", ondelete="CASCADE"),
                                             primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class HolderPhoto(db.Model):
    """The photo printed on a person's certificate (checked to be a real JPEG or PNG)."""

    __tablename__ = "holder_photos"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    mime: Mapped[str] = mapped_column(String(32))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class PrintedList(db.Model):
    """A printed HR list, kept so that a reprint is the same document (same rows, serial, hash)."""

    __tablename__ = "printed_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("enforcement_categories.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    columns: Mapped[list] = mapped_column(db.JSON)
    rows: Mapped[list] = mapped_column(db.JSON)
    rows_hash: Mapped[str] = mapped_column(String(64))
    printed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    printed_by_name: Mapped[str] = mapped_column(String(64))
    printed_at: Mapped[datetime] = mapped_column(default=utcnow)
