"""Who a bulletin is assigned to: everyone, or chosen departments with all their sub-departments.

A person belongs to a bulletin's audience when one of its departments is the person's department or
one of that department's ancestors. The department tree is small; it is read once per call.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from exam.accounts.models import Department, User
from exam.extensions import db

# Staff who are expected to study (accounts of people who left or retired are not assigned anything).
ASSIGNED_STATUSES = ("active", "seconded")


def parent_map() -> dict[int, int | None]:
    return {row.id: row.parent_id for row in db.session.execute(select(Department.id, Department.parent_id))}


def chain_ids(department_id: int | None, parents: dict[int, int | None]) -> set[int]:
    """The department and all its ancestors."""
    chain: set[int] = set()
    node = department_id
    while node is not None and node not in chain:
        chain.add(node)
        node = parents.get(node)
    return chain


def subtree_ids(department_ids: Iterable[int], parents: dict[int, int | None] | None = None) -> set[int]:
    """The departments and every department below them."""
    parents = parent_map() if parents is None else parents
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(child)
    result: set[int] = set()
    stack = list(department_ids)
    while stack:
        node = stack.pop()
        if node in result:
            continue
        result.add(node)
        stack.extend(children.get(node, []))
    return result


def bulletin_department_ids(bulletin) -> set[int]:
    return {d.id for d in bulletin.departments}


def in_audience(bulletin, department_id: int | None, parents: dict[int, int | None] | None = None,
                bulletin_departments: set[int] | None = None) -> bool:
    if bulletin.audience == "all":
        return True
    wanted = bulletin_department_ids(bulletin) if bulletin_departments is None else bulletin_departments
    parents = parent_map() if parents is None else parents
    return bool(chain_ids(department_id, parents) & wanted)


def is_assigned(bulletin, user: User) -> bool:
    """The bulletin is published and the person is in its audience."""
    return bulletin.status == "published" and in_audience(bulletin, user.department_id)


def assigned_users_stmt(bulletin):
    """Select the staff a bulletin is assigned to (published or not: used to preview and to report)."""
    stmt = select(User).where(User.active.is_(True), User.employment_status.in_(ASSIGNED_STATUSES))
    if bulletin.audience == "departments":
        stmt = stmt.where(User.department_id.in_(subtree_ids(bulletin_department_ids(bulletin))))
    return stmt.order_by(User.username)


def assigned_users(bulletin) -> list[User]:
    return list(db.session.scalars(assigned_users_stmt(bulletin)))
