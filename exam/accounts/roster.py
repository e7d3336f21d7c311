"""Staff roster import from Excel: all or nothing, every bad row reported by its row number."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select

from exam.accounts.models import User
from exam.accounts.operations import USERNAME_RE, UserData, create_user, ensure_department, find_department, update_user
from exam.core.errors import ImportRejected
from exam.extensions import db

HEADERS = ["工号", "姓名", "部门", "职务", "人员状态", "是否领导干部", "角色"]
HEADER_ALIASES = {
    "username": {"工号", "职工号", "员工编号", "username", "staff number", "staff no"},
    "name": {"姓名", "name"},
    "department": {"部门", "所在部门", "科室", "department"},
    "post": {"职务", "岗位", "post", "position"},
    "status": {"人员状态", "状态", "在职状态", "status", "employment status"},
    "leader": {"是否领导干部", "领导干部", "leader"},
    "roles": {"角色", "系统角色", "roles", "role"},
}
STATUS_WORDS = {
    "active": {"在编在职", "在职", "在编", "active"},
    "seconded": {"借调", "seconded"},
    "left": {"离职", "调离", "left"},
    "retired": {"退休", "retired"},
}
ROLE_WORDS = {
    None: {"考生", "执法人员", "员工", "普通", "普通用户", "examinee"},
    "legal": {"法规科", "法规", "法制", "legal"},
    "hr": {"人事", "人事科", "人事部门", "hr"},
    "admin": {"管理员", "系统管理员", "admin"},
}
YES = {"是", "y", "yes", "true", "1", "√", "领导干部"}
NO = {"否", "n", "no", "false", "0", "×", ""}


@dataclass
class RosterRow:
    row: int
    data: UserData
    department_name: str


@dataclass
class RosterResult:
    created: list[tuple[User, str]] = field(default_factory=list)  # user and initial password
    updated: list[User] = field(default_factory=list)
    unchanged: int = 0


def clean(value) -> str:
    """Cell to text: numbers stored by Excel as numbers, full-width spaces, stray line breaks."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).replace("\u3000", " ").replace("\r", " ").replace("\n", " ")
    return re.sub(r"\s+", " ", text).strip()


def _lookup(words: dict, value: str):
    lowered = value.lower()
    for key, options in words.items():
        if lowered in {o.lower() for o in options}:
            return key, True
    return None, False


def read_rows(stream: bytes) -> tuple[list[str], list[tuple[int, list]]]:
    if not stream:
        raise ImportRejected(_("The file is empty."))
    if not zipfile.is_zipfile(io.BytesIO(stream)):
        raise ImportRejected(_("The file is not an Excel workbook (.xlsx)."))
    try:
        wb = load_workbook(io.BytesIO(stream), read_only=True, data_only=True)
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise ImportRejected(_("The file is empty."))
        body = []
        limit = current_app.config["MAX_ROSTER_ROWS"]
        for number, values in enumerate(rows, start=2):
            if all(clean(v) == "" for v in values):
                continue
            body.append((number, list(values)))
            if len(body) > limit:
                raise ImportRejected(_("The roster has more than %(n)d rows.", n=limit))
        wb.close()
    except ImportRejected:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        current_app.logger.info("roster unreadable: %r", exc)
        raise ImportRejected(_("The file is not an Excel workbook (.xlsx).")) from exc
    return [clean(h) for h in header], body


def map_header(header: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        for key, aliases in HEADER_ALIASES.items():
            if title.lower() in {a.lower() for a in aliases} and key not in columns:
                columns[key] = index
    missing = [HEADERS[i] for i, key in enumerate(["username", "name", "department"]) if key not in columns]
    if missing:
        raise ImportRejected(
            _("The first row must hold the column titles; missing: %(cols)s", cols="、".join(missing))
        )
    return columns


def parse_roster(stream: bytes, *, importer: User | None, create_departments: bool = False) -> list[RosterRow]:
    header, body = read_rows(stream)
    columns = map_header(header)
    errors: list[dict] = []
    parsed: list[RosterRow] = []
    seen: dict[str, int] = {}
    may_grant_admin = importer is None or importer.has_role("admin")

    def cell(values, key):
        index = columns.get(key)
        return clean(values[index]) if index is not None and index < len(values) else ""

    for number, values in body:
        problems: list[str] = []
        username = cell(values, "username")
        name = cell(values, "name")
        dept_name = cell(values, "department")
        if not username:
            problems.append(_("the staff number is empty"))
        elif not USERNAME_RE.match(username):
            problems.append(_("the staff number %(u)s has characters that are not allowed", u=username))
        elif username in seen:
            problems.append(_("the staff number %(u)s already appears in row %(r)d", u=username, r=seen[username]))
        else:
            seen[username] = number
        if not name:
            problems.append(_("the name is empty"))
        department = None
        if not dept_name:
            problems.append(_("the department is empty"))
        else:
            department = find_department(dept_name)
            if department is None and not create_departments:
                problems.append(_("the department %(d)s does not exist", d=dept_name))
        status_text = cell(values, "status") or "在编在职"
        status, ok = _lookup(STATUS_WORDS, status_text)
        if not ok:
            problems.append(_("the status %(s)s is not one of 在编在职, 借调, 离职, 退休", s=status_text))
        leader_text = cell(values, "leader").lower()
        if leader_text not in YES and leader_text not in NO:
            problems.append(_("the leader column must be 是 or 否, not %(v)s", v=leader_text))
        roles: set[str] = set()
        for word in filter(None, re.split(r"[,，、;；/\s]+", cell(values, "roles"))):
            role, ok = _lookup(ROLE_WORDS, word)
            if not ok:
                problems.append(_("the role %(r)s is unknown", r=word))
            elif role == "admin" and not may_grant_admin:
                problems.append(_("only an administrator may grant the administrator role"))
            elif role:
                roles.add(role)
        if problems:
            errors.append({"row": number, "message": _("Row %(r)d: %(p)s", r=number, p="; ".join(problems))})
            continue
        parsed.append(
            RosterRow(
                row=number,
                department_name=dept_name,
                data=UserData(
                    username=username,
                    name=name,
                    department=department,
                    post=cell(values, "post") or None,
                    employment_status=status or "active",
                    is_leader=leader_text in YES and leader_text != "",
                    roles=roles,
                ),
            )
        )
    if errors:
        raise ImportRejected(_("Nothing was imported: %(n)d rows have errors.", n=len(errors)), details=errors)
    if not parsed:
        raise ImportRejected(_("The roster has no rows."))
    return parsed


def import_roster(stream: bytes, *, importer: User | None, create_departments: bool = False) -> RosterResult:
    """Validate every row first; only a clean file changes the database."""
    rows = parse_roster(stream, importer=importer, create_departments=create_departments)
    existing = {
        u.username: u
        for u in db.session.scalars(select(User).where(User.username.in_([r.data.username for r in rows])))
    }
    result = RosterResult()
    may_grant_admin = importer is None or importer.has_role("admin")
    for row in rows:
        if row.data.department is None:
            row.data.department = ensure_department(row.department_name)
        user = existing.get(row.data.username)
        if user is None:
            user, password = create_user(row.data, must_change=True)
            result.created.append((user, password))
            continue
        row.data.language = user.language
        if not may_grant_admin or ("admin" in user.roles and importer is not None and importer.id == user.id):
            # A roster never strips or grants admin unless an admin imports it (and never their own).
            row.data.roles = (row.data.roles - {"admin"}) | ({"admin"} & user.roles)
        before = (user.name, user.department_id, user.post, user.employment_status, user.is_leader, user.roles)
        update_user(user, row.data)
        after = (user.name, user.department_id, user.post, user.employment_status, user.is_leader, user.roles)
        if before != after:
            result.updated.append(user)
        else:
            result.unchanged += 1
    return result


def template_workbook() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "人员名册"
    ws.append(HEADERS)
    ws.append(["A0101", "张伟", "稽查科", "科员", "在编在职", "否", ""])
    ws.append(["A0102", "李娜", "法规科", "科长", "在编在职", "是", "法规科"])
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in ws[1]:
        cell.font, cell.fill = bold, fill
    for column, width in zip("ABCDEFG", [12, 10, 24, 14, 12, 14, 18], strict=True):
        ws.column_dimensions[column].width = width
    status = DataValidation(type="list", formula1='"在编在职,借调,离职,退休"', allow_blank=True)
    leader = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
    ws.add_data_validation(status)
    ws.add_data_validation(leader)
    status.add("E2:E5000")
    leader.add("F2:F5000")
    notes = wb.create_sheet("填写说明")
    for line in [
        ("列", "说明"),
        ("工号", "必填,字母、数字,2–32位;已存在的工号将更新该人员信息"),
        ("姓名", "必填"),
        ("部门", "必填,填部门名称或路径(如 市局/稽查科)"),
        ("职务", "选填"),
        ("人员状态", "在编在职、借调、离职、退休;空白视为在编在职"),
        ("是否领导干部", "是 / 否;空白视为否"),
        ("角色", "选填,可填 法规科、人事、管理员,多个用顿号分隔;所有人员均可参加考试"),
    ]:
        notes.append(line)
    notes.column_dimensions["A"].width = 14
    notes.column_dimensions["B"].width = 70
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
