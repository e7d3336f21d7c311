"""Bulletins (create, edit, publish, withdraw), reading and confirmation, training sessions.

Operations flush but never commit; they raise DomainError subclasses with messages a user can read.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from exam.accounts.models import Department, User
from exam.core import audit, uploads
from exam.core.errors import DomainError, ImportRejected, NotFound
from exam.core.timeutil import local_today, utcnow
from exam.extensions import db
from exam.study import audience
from exam.study.content import body_to_html, docx_to_html, html_to_text
from exam.study.models import (
    AUDIENCES,
    SESSION_KINDS,
    UPLOAD_FOLDER,
    Bulletin,
    ReadReceipt,
    TrainingAttendance,
    TrainingSession,
)
from question_bank.models import Law

MIN_QUERY_LENGTH = 2
ORIGINAL_KINDS = {"pdf", "docx"}
MAX_HOURS = Decimal("1000")


class StudyError(DomainError):
    pass


# --- bulletins -----------------------------------------------------------------------------------------

@dataclass
class BulletinData:
    year: int
    title: str
    number: int | None = None  # None: the next free number of the year
    summary: str = ""
    body_source: str = ""
    body_format: str = "markdown"
    laws: list[Law] = field(default_factory=list)
    audience: str = "all"
    departments: list[Department] = field(default_factory=list)
    required_by: date | None = None
    hours: Decimal = Decimal("0")


def suggest_number(year: int) -> int:
    """The next issue number of a year: one more than the highest so far."""
    highest = db.session.scalar(select(func.max(Bulletin.number)).where(Bulletin.year == year))
    return (highest or 0) + 1


def parse_hours(value) -> Decimal:
    try:
        hours = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise StudyError(_("Hours must be a number.")) from exc
    if not hours.is_finite() or hours < 0 or hours > MAX_HOURS:
        raise StudyError(_("Hours must be between 0 and %(max)s.", max=MAX_HOURS))
    return hours.quantize(Decimal("0.01"))


def _validate(data: BulletinData, bulletin: Bulletin | None) -> None:
    data.title = (data.title or "").strip()
    if not data.title:
        raise StudyError(_("The title is required."))
    if len(data.title) > 200:
        raise StudyError(_("The title is longer than %(n)d characters.", n=200))
    if not 2000 <= int(data.year) <= 2100:
        raise StudyError(_("The year must be between 2000 and 2100."))
    if data.number is None:
        data.number = suggest_number(data.year)
    if data.number < 1 or data.number > 999:
        raise StudyError(_("The issue number must be between 1 and 999."))
    clash = db.session.scalar(
        select(Bulletin).where(Bulletin.year == data.year, Bulletin.number == data.number)
    )
    if clash is not None and clash is not bulletin:
        raise StudyError(
            _("Issue %(label)s already exists; the next free number is %(n)d.",
              label=clash.issue_label, n=suggest_number(data.year))
        )
    if data.audience not in AUDIENCES:
        raise StudyError(_("Choose who the bulletin is for."))
    if data.audience == "departments" and not data.departments:
        raise StudyError(_("Choose at least one department, or send the bulletin to everyone."))
    if data.body_format not in {"markdown", "html"}:
        raise StudyError(_("Unknown body format."))
    data.hours = parse_hours(data.hours)


def _snapshot(b: Bulletin) -> dict:
    return {
        "issue": b.issue_label, "title": b.title, "status": b.status, "audience": b.audience,
        "departments": [d.id for d in b.departments], "laws": [law.id for law in b.laws],
        "required_by": b.required_by.isoformat() if b.required_by else None, "hours": str(b.hours),
        "original": b.original_name,
    }


def _apply(b: Bulletin, data: BulletinData) -> None:
    b.year, b.number, b.title = int(data.year), int(data.number), data.title
    b.summary = (data.summary or "").strip()
    b.body_source, b.body_format = data.body_source or "", data.body_format
    b.body_html = body_to_html(b.body_source, b.body_format)
    b.laws = list(data.laws)
    b.audience = data.audience
    b.departments = list(data.departments) if data.audience == "departments" else []
    b.required_by = data.required_by
    b.hours = data.hours
    _refresh_search_text(b)


def _refresh_search_text(b: Bulletin) -> None:
    b.search_text = "\n".join(t for t in (html_to_text(b.body_html), html_to_text(b.original_html)) if t)


def _attach_original(b: Bulletin, original: uploads.CheckedFile) -> None:
    if original.kind not in ORIGINAL_KINDS:
        raise uploads.UploadRejected(_("The original must be a PDF or Word (.docx) file."))
    converted = None
    if original.kind == "docx":
        try:
            converted = docx_to_html(original.data)
        except Exception as exc:  # mammoth raises many kinds for damaged documents
            raise uploads.UploadRejected(
                _("The Word file %(name)s could not be read.", name=original.original_name)
            ) from exc
    previous = b.original_stored
    b.original_stored = uploads.store(original, UPLOAD_FOLDER, db.session)
    b.original_name = original.original_name
    b.original_kind = original.kind
    b.original_size = original.size
    b.original_html = converted
    uploads.delete_after_commit(db.session, UPLOAD_FOLDER, previous)
    _refresh_search_text(b)


def _remove_original(b: Bulletin) -> None:
    uploads.delete_after_commit(db.session, UPLOAD_FOLDER, b.original_stored)
    b.original_stored = b.original_name = b.original_kind = b.original_html = None
    b.original_size = None
    _refresh_search_text(b)


def create_bulletin(data: BulletinData, *, by: User | None, original: uploads.CheckedFile | None = None) -> Bulletin:
    _validate(data, None)
    bulletin = Bulletin(status="draft", created_by=by)
    _apply(bulletin, data)
    db.session.add(bulletin)
    _flush_unique(data)
    if original is not None:
        _attach_original(bulletin, original)
    db.session.flush()
    audit.record("bulletin.create", bulletin, after=_snapshot(bulletin))
    return bulletin


def update_bulletin(bulletin: Bulletin, data: BulletinData, *, original: uploads.CheckedFile | None = None,
                    remove_original: bool = False) -> Bulletin:
    """Edit in any status; confirmations already given (and the hours they credited) are kept."""
    before = _snapshot(bulletin)
    _validate(data, bulletin)
    _apply(bulletin, data)
    _flush_unique(data)
    if original is not None:
        _attach_original(bulletin, original)
    elif remove_original and bulletin.original_stored:
        _remove_original(bulletin)
    db.session.flush()
    audit.record("bulletin.update", bulletin, before=before, after=_snapshot(bulletin))
    return bulletin


def _flush_unique(data: BulletinData) -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        label = "%d年第%d期" % (data.year, data.number)
        raise StudyError(
            _("Issue %(label)s already exists; the next free number is %(n)d.",
              label=label, n=suggest_number(data.year))
        ) from exc


def publish_bulletin(bulletin: Bulletin) -> None:
    if bulletin.status == "published":
        raise StudyError(_("The bulletin is already published."))
    if not (bulletin.body_html or bulletin.original_stored):
        raise StudyError(_("Write a body or upload the original before publishing."))
    before = bulletin.status
    bulletin.status = "published"
    bulletin.published_at = bulletin.published_at or utcnow()
    bulletin.withdrawn_at = None
    db.session.flush()
    audit.record("bulletin.publish", bulletin, before={"status": before}, after={"status": "published"})


def withdraw_bulletin(bulletin: Bulletin) -> None:
    if bulletin.status != "published":
        raise StudyError(_("Only a published bulletin can be withdrawn."))
    bulletin.status = "withdrawn"
    bulletin.withdrawn_at = utcnow()
    db.session.flush()
    audit.record("bulletin.withdraw", bulletin, before={"status": "published"}, after={"status": "withdrawn"})


def get_bulletin(bulletin_id: int) -> Bulletin:
    bulletin = db.session.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise NotFound(_("The bulletin does not exist."))
    return bulletin


def visible_bulletin(bulletin_id: int, user: User) -> Bulletin:
    """A bulletin the person may read: assigned to them, or any bulletin for the legal department."""
    bulletin = db.session.get(Bulletin, bulletin_id)
    if bulletin is None or not (user.has_role("legal") or audience.is_assigned(bulletin, user)):
        raise NotFound(_("The bulletin does not exist, or it is not assigned to you."))
    return bulletin


def bulletins_for(user: User, query: str | None = None) -> list[Bulletin]:
    """Published bulletins assigned to the person, newest first (optionally matching a search)."""
    chain = audience.chain_ids(user.department_id, audience.parent_map())
    from exam.study.models import bulletin_departments as bd

    stmt = select(Bulletin).where(
        Bulletin.status == "published",
        or_(
            Bulletin.audience == "all",
            Bulletin.id.in_(select(bd.c.bulletin_id).where(bd.c.department_id.in_(chain or {-1}))),
        ),
    )
    if query:
        stmt = stmt.where(search_condition(query))
    return list(db.session.scalars(stmt.order_by(Bulletin.year.desc(), Bulletin.number.desc())))


def receipts_for(user: User, bulletin_ids: list[int]) -> dict[int, ReadReceipt]:
    if not bulletin_ids:
        return {}
    rows = db.session.scalars(
        select(ReadReceipt).where(ReadReceipt.user_id == user.id, ReadReceipt.bulletin_id.in_(bulletin_ids))
    )
    return {r.bulletin_id: r for r in rows}


# --- search -------------------------------------------------------------------------------------------

def normalise_query(query: str | None) -> str:
    return re.sub(r"\s+", " ", (query or "").strip())[:100]


def search_condition(query: str):
    """Title, summary or body text containing ``query`` (LIKE with escaped wildcards; works for Chinese)."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    return or_(
        Bulletin.title.ilike(pattern, escape="\\"),
        Bulletin.summary.ilike(pattern, escape="\\"),
        Bulletin.search_text.ilike(pattern, escape="\\"),
    )


def check_query(query: str) -> None:
    if len(query) < MIN_QUERY_LENGTH:
        raise StudyError(_("Type at least %(n)d characters to search.", n=MIN_QUERY_LENGTH))


# --- reading and confirmation -------------------------------------------------------------------------

def _receipt(bulletin: Bulletin, user: User) -> ReadReceipt:
    receipt = db.session.scalar(
        select(ReadReceipt).where(ReadReceipt.user_id == user.id, ReadReceipt.bulletin_id == bulletin.id)
    )
    if receipt is not None:
        return receipt
    try:
        with db.session.begin_nested():
            receipt = ReadReceipt(user_id=user.id, bulletin_id=bulletin.id, first_opened_at=utcnow(),
                                  hours_credited=Decimal("0"))
            db.session.add(receipt)
            db.session.flush()
    except IntegrityError:  # opened at the same moment in another tab
        receipt = db.session.scalar(
            select(ReadReceipt).where(ReadReceipt.user_id == user.id, ReadReceipt.bulletin_id == bulletin.id)
        )
    return receipt


def open_bulletin(bulletin: Bulletin, user: User) -> ReadReceipt | None:
    """Record the first opening by an assigned person (others, e.g. the legal department, leave no trace)."""
    if not audience.is_assigned(bulletin, user):
        return None
    receipt = _receipt(bulletin, user)
    if receipt.first_opened_at is None:
        receipt.first_opened_at = utcnow()
        db.session.flush()
    return receipt


def confirm_bulletin(bulletin: Bulletin, user: User) -> tuple[ReadReceipt, bool]:
    """"我已学习": record the time and credit the hours, once. Returns (receipt, newly confirmed)."""
    if not audience.is_assigned(bulletin, user):
        raise NotFound(_("The bulletin does not exist, or it is not assigned to you."))
    receipt = _receipt(bulletin, user)
    now = utcnow()
    # Only the statement that finds confirmed_at empty sets it: two confirmations at once credit once.
    changed = db.session.execute(
        update(ReadReceipt)
        .where(ReadReceipt.id == receipt.id, ReadReceipt.confirmed_at.is_(None))
        .values(confirmed_at=now, hours_credited=bulletin.hours,
                first_opened_at=func.coalesce(ReadReceipt.first_opened_at, now))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(receipt)
    return receipt, changed == 1


# --- reading report -----------------------------------------------------------------------------------

@dataclass
class ReaderRow:
    user: User
    receipt: ReadReceipt | None
    overdue: bool

    @property
    def state(self) -> str:
        if self.receipt is not None and self.receipt.confirmed_at:
            return "confirmed"
        if self.receipt is not None and self.receipt.first_opened_at:
            return "opened"
        return "unread"


@dataclass
class DepartmentSummary:
    name: str
    assigned: int = 0
    opened: int = 0
    confirmed: int = 0
    overdue: int = 0


def reading_report(bulletin: Bulletin, today: date | None = None) -> tuple[list[ReaderRow], list[DepartmentSummary]]:
    """Every assigned person with their receipt, and counts by department (3 queries)."""
    today = today or local_today()
    users = audience.assigned_users(bulletin)
    receipts = {r.user_id: r for r in db.session.scalars(
        select(ReadReceipt).where(ReadReceipt.bulletin_id == bulletin.id))}
    departments = {d.id: d for d in db.session.scalars(select(Department))}
    rows, summary = [], {}
    overdue_date = bulletin.is_overdue_on(today)
    for user in users:
        receipt = receipts.get(user.id)
        row = ReaderRow(user=user, receipt=receipt,
                        overdue=overdue_date and not (receipt and receipt.confirmed_at))
        rows.append(row)
        dept = departments.get(user.department_id)
        name = dept.path if dept else _("No department")
        item = summary.setdefault(name, DepartmentSummary(name=name))
        item.assigned += 1
        item.opened += row.state in ("opened", "confirmed")
        item.confirmed += row.state == "confirmed"
        item.overdue += row.overdue
    rows.sort(key=lambda r: (summary_key(r, departments), r.user.username))
    return rows, sorted(summary.values(), key=lambda s: s.name)


def summary_key(row: ReaderRow, departments) -> str:
    dept = departments.get(row.user.department_id)
    return dept.path if dept else ""


def reading_workbook(bulletin: Bulletin, rows: list[ReaderRow]) -> bytes:
    from exam.core.timeutil import to_local

    states = {"confirmed": "已学习", "opened": "已打开未确认", "unread": "未读"}
    wb = Workbook()
    ws = wb.active
    ws.title = "学习情况"
    ws.append([f"{bulletin.issue_label} {bulletin.title}"])
    ws.append(["工号", "姓名", "部门", "状态", "首次打开时间", "确认学习时间", "是否逾期"])
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")

    def local(value):
        return to_local(value).strftime("%Y-%m-%d %H:%M") if value else ""

    for row in rows:
        ws.append([
            row.user.username, row.user.name, row.user.department.path if row.user.department else "",
            states[row.state], local(row.receipt.first_opened_at if row.receipt else None),
            local(row.receipt.confirmed_at if row.receipt else None), "是" if row.overdue else "否",
        ])
    for column, width in zip("ABCDEFG", [12, 10, 30, 14, 18, 18, 10], strict=True):
        ws.column_dimensions[column].width = width
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- training sessions --------------------------------------------------------------------------------

@dataclass
class SessionData:
    title: str
    held_on: date
    hours: Decimal
    kind: str = "session"
    organiser: str | None = None


ATTENDANCE_HEADERS = {"username": {"工号", "职工号", "员工编号", "username", "staff number"},
                      "name": {"姓名", "name"}}


def find_users(usernames: list[str]) -> tuple[list[User], list[str]]:
    """Users for the staff numbers given, in order, and the numbers that match nobody."""
    wanted = list(dict.fromkeys(u.strip() for u in usernames if u and u.strip()))
    found = {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(wanted)))} \
        if wanted else {}
    return [found[u] for u in wanted if u in found], [u for u in wanted if u not in found]


def parse_attendance(stream: bytes) -> list[User]:
    """Attendees from Excel (columns 工号, 姓名): all or nothing, every bad row reported by number."""
    from exam.accounts.roster import clean, read_rows

    header, body = read_rows(stream)
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        for key, aliases in ATTENDANCE_HEADERS.items():
            if title.lower() in {a.lower() for a in aliases} and key not in columns:
                columns[key] = index
    if "username" not in columns:
        raise ImportRejected(_("The first row must hold the column titles; missing: %(cols)s", cols="工号"))
    usernames = [clean(values[columns["username"]]) if columns["username"] < len(values) else ""
                 for _n, values in body]
    known = {u.username: u for u in db.session.scalars(
        select(User).where(User.username.in_([u for u in usernames if u])))}
    errors, users, seen = [], [], {}
    for (number, values), username in zip(body, usernames, strict=True):
        name = clean(values[columns["name"]]) if "name" in columns and columns["name"] < len(values) else ""
        problems = []
        user = known.get(username)
        if not username:
            problems.append(_("the staff number is empty"))
        elif user is None:
            problems.append(_("no member of staff has the staff number %(u)s", u=username))
        elif username in seen:
            problems.append(_("the staff number %(u)s already appears in row %(r)d", u=username, r=seen[username]))
        elif name and name != user.name:
            problems.append(_("the name %(n)s does not match staff number %(u)s (%(real)s)",
                              n=name, u=username, real=user.name))
        if problems:
            errors.append({"row": number, "message": _("Row %(r)d: %(p)s", r=number, p="; ".join(problems))})
            continue
        seen[username] = number
        users.append(user)
    if errors:
        raise ImportRejected(_("Nothing was imported: %(n)d rows have errors.", n=len(errors)), details=errors)
    if not users:
        raise ImportRejected(_("The attendance list has no rows."))
    return users


def attendance_template() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "参训人员"
    ws.append(["工号", "姓名"])
    ws.append(["A0001", "张伟"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 12
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def create_training_session(data: SessionData, attendees: list[User], *, by: User | None) -> TrainingSession:
    title = (data.title or "").strip()
    if not title:
        raise StudyError(_("The title is required."))
    if len(title) > 200:
        raise StudyError(_("The title is longer than %(n)d characters.", n=200))
    if data.kind not in SESSION_KINDS:
        raise StudyError(_("Unknown kind of session."))
    if data.held_on is None:
        raise StudyError(_("The date is required."))
    hours = parse_hours(data.hours)
    if hours <= 0:
        raise StudyError(_("Hours must be more than 0."))
    unique = list({u.id: u for u in attendees}.values())
    if not unique:
        raise StudyError(_("Choose at least one attendee."))
    session = TrainingSession(title=title, kind=data.kind, held_on=data.held_on, hours=hours,
                              organiser=(data.organiser or "").strip() or None, created_by=by)
    session.attendances = [TrainingAttendance(user_id=u.id) for u in unique]
    db.session.add(session)
    db.session.flush()
    audit.record("training.create", session, after={
        "title": title, "held_on": data.held_on.isoformat(), "hours": str(hours), "attendees": len(unique)})
    return session
