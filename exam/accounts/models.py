"""Departments (a tree), users with roles, API tokens."""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from exam.core.access import EXAMINEE, PRIVILEGED_ROLES
from exam.core.timeutil import utcnow
from exam.extensions import db

EMPLOYMENT_STATUSES = {
    "active": _l("Employed (on staff)"),  # 在编在职
    "seconded": _l("Seconded"),  # 借调
    "left": _l("Left"),  # 离职
    "retired": _l("Retired"),  # 退休
}

ROLE_LABELS = {
    EXAMINEE: _l("Examinee"),
    "legal": _l("Legal department"),
    "hr": _l("Human resources"),
    "admin": _l("Administrator"),
}


class Department(db.Model):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("parent_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(50), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"), index=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[Department | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Department]] = relationship(back_populates="parent", order_by="Department.sort_order")
    users: Mapped[list[User]] = relationship(back_populates="department")

    @property
    def path(self) -> str:
        names, node, seen = [], self, set()
        while node is not None and node.id not in seen:
            seen.add(node.id)
            names.append(node.name)
            node = node.parent
        return " / ".join(reversed(names))

    def ancestors(self) -> list[Department]:
        result, node = [], self.parent
        while node is not None and node not in result:
            result.append(node)
            node = node.parent
        return result

    def __repr__(self) -> str:
        return f"<Department {self.name}>"


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (CheckConstraint("role IN ('legal', 'hr', 'admin')", name="known_role"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "employment_status IN ('active', 'seconded', 'left', 'retired')", name="known_employment_status"
        ),
        # the reports count the assigned people per department from this index alone
        Index("ix_users_department_staff", "department_id", "active", "employment_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)  # 工号
    name: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"), index=True)
    post: Mapped[str | None] = mapped_column(String(64))  # 职务
    employment_status: Mapped[str] = mapped_column(String(16), default="active")
    is_leader: Mapped[bool] = mapped_column(Boolean, default=False)  # 领导干部
    language: Mapped[str | None] = mapped_column(String(8))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped on password change and deactivation: every session and remember cookie issued before dies.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None]

    department: Mapped[Department | None] = relationship(back_populates="users")
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    # --- roles -------------------------------------------------------------------------------------
    @property
    def roles(self) -> set[str]:
        return {EXAMINEE} | {r.role for r in self.role_rows}

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def has_any_role(self, roles) -> bool:
        return bool(self.roles & set(roles))

    def set_roles(self, roles) -> None:
        wanted = {r for r in roles if r in PRIVILEGED_ROLES}
        self.role_rows = [r for r in self.role_rows if r.role in wanted]
        present = {r.role for r in self.role_rows}
        for role in sorted(wanted - present):
            self.role_rows.append(UserRole(role=role))

    # --- passwords and sessions ---------------------------------------------------------------------
    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])
        self.session_version = (self.session_version or 0) + 1

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def employment_label(self) -> str:
        return str(EMPLOYMENT_STATUSES.get(self.employment_status, self.employment_status))

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class ApiToken(db.Model):
    """Bearer tokens for other systems (OA, mobile). Only the SHA-256 of a token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()


def user_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))
