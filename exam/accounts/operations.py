"""Account rules: users, departments, roles, passwords, tokens, roster import.

Operations flush but never commit; the view or CLI command that calls them commits once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from exam.accounts.models import EMPLOYMENT_STATUSES, ApiToken, Department, User
from exam.core import audit
from exam.core.access import PRIVILEGED_ROLES
from exam.core.errors import Conflict, DomainError, NotFound
from exam.core.signals import employment_changed
from exam.extensions import db

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{2,32}$")


class AccountError(DomainError):
    pass


# --- passwords --------------------------------------------------------------------------------------

def password_problems(password: str) -> list[str]:
    problems = []
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        problems.append(_("The password must have at least %(n)d characters.", n=minimum))
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        problems.append(_("The password must contain both letters and digits."))
    return problems


def generate_password(length: int = 12) -> str:
    """A random password that passes the rules; no look-alike characters (0/O, 1/l/I)."""
    letters = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
    digits = "23456789"
    alphabet = letters + digits
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c in letters for c in pw) and any(c in digits for c in pw):
            return pw


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current):
        raise AccountError(_("The current password is wrong."))
    set_password(user, new)


def set_password(user: User, new: str, *, must_change: bool = False) -> None:
    problems = password_problems(new)
    if problems:
        raise AccountError(" ".join(problems))
    user.set_password(new)  # bumps session_version: other sessions end
    user.must_change_password = must_change
    audit.record("user.password_set", user, after={"must_change": must_change})
    db.session.flush()


# --- authentication ---------------------------------------------------------------------------------

def authenticate(username: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        # Spend the same time as a real check so timing does not reveal which usernames exist.
        from werkzeug.security import check_password_hash, generate_password_hash

        check_password_hash(generate_password_hash("x", method="pbkdf2:sha256:1000"), password)
        return None
    if not user.check_password(password) or not user.is_active:
        return None
    return user


def issue_token(user: User) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=ApiToken.digest(token)))
    audit.record("token.issue", user)
    db.session.flush()
    return token


def user_for_token(token: str) -> User | None:
    """The active user a live token belongs to, with roles: one query (this runs on every API request)."""
    return db.session.scalars(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == ApiToken.digest(token), ApiToken.revoked_at.is_(None), User.active.is_(True))
        .options(joinedload(User.role_rows))
    ).unique().one_or_none()


def user_for_session(user_id: int) -> User | None:
    """The user of a signed-in session, with roles: one query (this runs on every page)."""
    return db.session.scalars(
        select(User).where(User.id == user_id).options(joinedload(User.role_rows))
    ).unique().one_or_none()


# --- departments ------------------------------------------------------------------------------------

def _split_path(name_or_path: str) -> list[str]:
    return [p.strip() for p in re.split(r"\s*/\s*", name_or_path.strip()) if p.strip()]


def _child(parent: Department | None, name: str) -> Department | None:
    where_parent = Department.parent_id == parent.id if parent else Department.parent_id.is_(None)
    return db.session.scalar(select(Department).where(Department.name == name, where_parent))


def find_department(name_or_path: str) -> Department | None:
    """By path ("市局 / 稽查科" or "市局/稽查科") or, when unambiguous, by bare name or code."""
    parts = _split_path(name_or_path)
    if not parts:
        return None
    if len(parts) == 1:
        by_code = db.session.scalar(select(Department).where(Department.code == parts[0]))
        if by_code:
            return by_code
        matches = db.session.scalars(select(Department).where(Department.name == parts[0])).all()
        return matches[0] if len(matches) == 1 else None
    node = None
    for name in parts:
        node = _child(node, name)
        if node is None:
            return None
    return node


def ensure_department(name_or_path: str) -> Department:
    """Find a department, creating missing levels of its path."""
    found = find_department(name_or_path)
    if found:
        return found
    parent = None
    for name in _split_path(name_or_path):
        node = _child(parent, name)
        if node is None:
            node = Department(name=name, parent=parent)
            db.session.add(node)
            db.session.flush()
            audit.record("department.create", node, after={"name": node.path})
        parent = node
    return parent


def save_department(dept: Department | None, *, name: str, code: str | None, parent: Department | None,
                    sort_order: int = 0) -> Department:
    name = name.strip()
    if not name:
        raise AccountError(_("A department needs a name."))
    if dept is not None and parent is not None and (parent.id == dept.id or dept in parent.ancestors()):
        raise AccountError(_("A department cannot be placed under itself."))
    clash = _child(parent, name)
    if clash is not None and clash is not dept:
        raise Conflict(_("A department named %(name)s already exists there.", name=name))
    code = (code or "").strip() or None
    if code:
        other = db.session.scalar(select(Department).where(Department.code == code))
        if other is not None and other is not dept:
            raise Conflict(_("The department code %(code)s is already used.", code=code))
    before = {"name": dept.path, "code": dept.code} if dept else None
    if dept is None:
        dept = Department()
        db.session.add(dept)
    dept.name, dept.code, dept.parent, dept.sort_order = name, code, parent, sort_order
    db.session.flush()
    audit.record("department.save", dept, before=before, after={"name": dept.path, "code": dept.code})
    return dept


# --- users ------------------------------------------------------------------------------------------

@dataclass
class UserData:
    username: str
    name: str
    department: Department | None = None
    post: str | None = None
    employment_status: str = "active"
    is_leader: bool = False
    roles: set[str] = field(default_factory=set)
    language: str | None = None


def _validate(data: UserData) -> None:
    if not USERNAME_RE.match(data.username or ""):
        raise AccountError(_("The staff number may contain only letters, digits, '.', '_' and '-' (2–32)."))
    if not (data.name or "").strip():
        raise AccountError(_("A name is required."))
    if data.employment_status not in EMPLOYMENT_STATUSES:
        raise AccountError(_("Unknown employment status."))
    unknown = set(data.roles) - set(PRIVILEGED_ROLES)
    if unknown:
        raise AccountError(_("Unknown role: %(roles)s", roles=", ".join(sorted(unknown))))


def _snapshot(user: User) -> dict:
    return {
        "username": user.username,
        "name": user.name,
        "department": user.department.path if user.department else None,
        "post": user.post,
        "employment_status": user.employment_status,
        "is_leader": user.is_leader,
        "roles": sorted(user.roles),
        "active": user.active,
    }


def create_user(data: UserData, *, password: str | None = None, must_change: bool = True) -> tuple[User, str]:
    """Create a user; returns the user and the initial password (generated when not given)."""
    _validate(data)
    if db.session.scalar(select(func.count()).select_from(User).where(User.username == data.username)):
        raise Conflict(_("The staff number %(u)s is already taken.", u=data.username))
    password = password or generate_password()
    problems = password_problems(password)
    if problems:
        raise AccountError(" ".join(problems))
    user = User(
        username=data.username,
        name=data.name.strip(),
        department=data.department,
        post=(data.post or "").strip() or None,
        employment_status=data.employment_status,
        is_leader=data.is_leader,
        language=data.language,
        must_change_password=must_change,
    )
    user.set_password(password)
    user.set_roles(data.roles)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", user, after=_snapshot(user))
    return user, password


def update_user(user: User, data: UserData, *, can_grant_admin: bool = True) -> User:
    _validate(data)
    before = _snapshot(user)
    if not can_grant_admin:
        data.roles = (set(data.roles) - {"admin"}) | ({"admin"} & user.roles)
    user.name = data.name.strip()
    user.department = data.department
    user.post = (data.post or "").strip() or None
    user.employment_status = data.employment_status
    user.is_leader = data.is_leader
    user.language = data.language
    user.set_roles(data.roles)
    db.session.flush()
    after = _snapshot(user)
    if before["employment_status"] != after["employment_status"]:
        employment_changed.send(user, before=before["employment_status"], after=after["employment_status"])
    if after != before:
        action = "user.roles_change" if before["roles"] != after["roles"] else "user.update"
        audit.record(action, user, before=before, after=after)
    return user


def set_active(user: User, active: bool, *, by: User | None = None) -> None:
    if by is not None and by.id == user.id and not active:
        raise AccountError(_("You cannot deactivate your own account."))
    if user.active == active:
        return
    user.active = active
    user.session_version += 1  # sessions of a deactivated user end at once
    audit.record("user.activate" if active else "user.deactivate", user)
    db.session.flush()


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    return user


def require_single_admin_left(user: User, new_roles: set[str]) -> None:
    """Never remove the last active administrator."""
    if "admin" in user.roles and "admin" not in new_roles:
        from exam.accounts.models import UserRole

        admins = db.session.scalar(
            select(func.count()).select_from(UserRole).join(User).where(UserRole.role == "admin", User.active)
        )
        if admins <= 1:
            raise AccountError(_("At least one active administrator must remain."))

