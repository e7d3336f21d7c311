"""HR's printed lists: built from the same eligibility rules, kept when printed so a reprint is identical."""

from __future__ import annotations

import io
from datetime import date

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from exam.accounts.models import User
from exam.certificates import operations as ops
from exam.certificates.forms import LIST_KINDS
from exam.certificates.models import HELD_STATUSES, Certificate, EnforcementCategory, PrintedList
from exam.core import audit
from exam.core.errors import DomainError
from exam.core.settings import setting
from exam.core.timeutil import local_today, to_local, utcnow
from exam.extensions import db


def _dept(user: User) -> str:
    return user.department.path if user.department else ""


def _certs(category: EnforcementCategory | None, *conditions):
    stmt = (select(Certificate).options(selectinload(Certificate.holder).selectinload(User.department),
                                        selectinload(Certificate.category))
            .where(*conditions).order_by(Certificate.valid_until, Certificate.number))
    if category is not None:
        stmt = stmt.where(Certificate.category_id == category.id)
    return db.session.scalars(stmt).all()


def build_list(kind: str, category: EnforcementCategory | None, *, as_of: date | None = None,
               year: int | None = None) -> tuple[str, list[str], list[list]]:
    """(title, columns, rows) of one HR list."""
    as_of = as_of or local_today()
    if kind not in LIST_KINDS:
        raise DomainError(_("Unknown list."))
    label = str(LIST_KINDS[kind])
    suffix = f"({category.name})" if category else ""
    if kind in {"issue", "ineligible"}:
        if category is None:
            raise DomainError(_("Choose an enforcement category for this list."))
        users = db.session.scalars(
            select(User).options(selectinload(User.department))
            .where(User.active, User.employment_status.in_(("active", "seconded")))
            .order_by(User.username)).all()
        verdicts = ops.check_eligibility(users, category, as_of)
        columns = [_("Staff number"), _("Name"), _("Department"), _("Post")]
        rows = []
        for user in users:
            verdict = verdicts[user.id]
            if kind == "issue" and verdict.eligible:
                rows.append([user.username, user.name, _dept(user), user.post or "",
                             "、".join(r.exam_title for r in verdict.results), f"{verdict.hours:g}"])
            elif kind == "ineligible" and not verdict.eligible:
                if any(r.code == "already_holds" for r in verdict.reasons):
                    continue  # holders are not applicants
                rows.append([user.username, user.name, _dept(user), user.post or "",
                             ";".join(r.message for r in verdict.reasons)])
        columns += [_("Exams passed"), _("Hours")] if kind == "issue" else [_("Reasons")]
        return label + suffix, columns, rows
    columns = [_("Certificate number"), _("Name"), _("Staff number"), _("Department"), _("Enforcement category"),
               _("Valid until")]
    if kind == "valid":
        certs = _certs(category, Certificate.status == "valid", Certificate.valid_until >= as_of)
        return label + suffix, columns + [_("Area")], [
            [c.number, c.holder.name, c.holder.username, _dept(c.holder), c.category.name,
             c.valid_until.isoformat(), c.area] for c in certs]
    if kind == "expiring":
        until = as_of + relativedelta(days=int(setting("CERT_EXPIRING_DAYS")))
        certs = _certs(category, Certificate.status.in_(HELD_STATUSES), Certificate.valid_until >= as_of,
                       Certificate.valid_until <= until)
        return label + suffix, columns + [_("Days left")], [
            [c.number, c.holder.name, c.holder.username, _dept(c.holder), c.category.name,
             c.valid_until.isoformat(), (c.valid_until - as_of).days] for c in certs]
    if kind == "renewal":
        window = int(setting("CERT_RENEWAL_WINDOW_MONTHS"))
        certs = _certs(category, Certificate.status.in_(HELD_STATUSES), Certificate.valid_until >= as_of,
                       Certificate.valid_until <= as_of + relativedelta(months=window))
        checks = ops.renewal_check(certs, as_of)
        return label + suffix, columns + [_("Renewal")], [
            [c.number, c.holder.name, c.holder.username, _dept(c.holder), c.category.name,
             c.valid_until.isoformat(),
             _("Ready to renew") if not checks[c.id] else ";".join(r.message for r in checks[c.id])]
            for c in certs]
    # review
    year = year or as_of.year
    results = ops.annual_review(year, category)
    return f"{year}{label}{suffix}", columns + [_("Review result")], [
        [c.number, c.holder.name, c.holder.username, _dept(c.holder), c.category.name, c.valid_until.isoformat(),
         _("Passed") if not reasons else ";".join(r.message for r in reasons)] for c, reasons in results]


def print_list(kind: str, category: EnforcementCategory | None, *, by: User, year: int | None = None) -> PrintedList:
    """Freeze a list: its rows, a serial number and the hash of its rows are stored and audited."""
    title, columns, rows = build_list(kind, category, year=year)
    today = local_today()
    count = db.session.scalar(select(func.count()).select_from(PrintedList)) or 0
    printed = PrintedList(
        serial=f"HR{today.year}-{count + 1:06d}",
        kind=kind,
        category_id=category.id if category else None,
        title=title,
        columns=columns,
        rows=rows,
        rows_hash=ops.rows_hash(columns, rows),
        printed_by_id=by.id,
        printed_by_name=by.name,
        printed_at=utcnow(),
    )
    db.session.add(printed)
    db.session.flush()
    audit.record("certificate_list.print", printed, actor=by,
                 after={"serial": printed.serial, "kind": kind, "rows": len(rows), "hash": printed.rows_hash})
    return printed


def list_xlsx(printed: PrintedList) -> bytes:
    wb = Workbook(write_only=False)
    wb.properties.creator = printed.printed_by_name
    wb.properties.created = wb.properties.modified = printed.printed_at  # a reprint carries the same dates
    ws = wb.active
    ws.title = "名单"
    ws.append([printed.title])
    ws["A1"].font = Font(bold=True, size=14)
    printed_at = to_local(printed.printed_at).strftime("%Y-%m-%d %H:%M")
    ws.append([f"编号:{printed.serial}", f"打印人:{printed.printed_by_name}", f"打印时间:{printed_at}",
               f"共 {len(printed.rows)} 条"])
    ws.append(printed.columns)
    for cell in ws[3]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    for row in printed.rows:
        ws.append(row)
    ws.append([f"校验码(SHA-256):{printed.rows_hash}"])
    for index, width in enumerate([16, 10, 12, 24, 16, 12, 40], start=1):
        ws.column_dimensions[ws.cell(row=3, column=index).column_letter].width = width
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def list_html_context(printed: PrintedList) -> dict:
    return {"printed": printed, "printed_at": to_local(printed.printed_at)}
