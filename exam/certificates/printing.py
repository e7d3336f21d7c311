"""Printed certificates and lists (PDF through the app's one WeasyPrint entry, exam.core.pdf)."""

from __future__ import annotations

import base64

import segno
from flask import current_app, has_request_context, render_template, url_for

from exam.certificates.models import Certificate, HolderPhoto, PrintedList
from exam.core.timeutil import to_local
from exam.extensions import db

MAX_PART_ROWS = 5000  # ~320 MB peak for a part of this many rows


def verify_url(cert: Certificate) -> str:
    """The public verification page of ``cert``: under PUBLIC_BASE_URL when set, else this request's host.

    Outside a request (the CLI) and without SERVER_NAME, url_for cannot build URLs; the path is built from the
    URL map directly."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if has_request_context() or current_app.config.get("SERVER_NAME"):
        path = url_for("certificates.verify", token=cert.verification_token)
    else:
        root = (current_app.config.get("APPLICATION_ROOT") or "/").rstrip("/")
        path = root + current_app.url_map.bind("localhost").build("certificates.verify",
                                                                 {"token": cert.verification_token})
    if base:
        return base.rstrip("/") + path
    if has_request_context():
        return url_for("certificates.verify", token=cert.verification_token, _external=True)
    return "http://127.0.0.1:5000" + path


def qr_data_uri(data: str) -> str:
    return segno.make(data, error="m").png_data_uri(scale=6, border=2)


def photo_data_uri(user_id: int) -> str | None:
    photo = db.session.get(HolderPhoto, user_id)
    if photo is None:
        return None
    return f"data:{photo.mime};base64," + base64.b64encode(photo.content).decode("ascii")


def certificate_card_pdf(cert: Certificate) -> bytes:
    from exam.core.pdf import render_pdf

    url = verify_url(cert)
    html = render_template("pdf/certificate_card.html", cert=cert, qr=qr_data_uri(url), verify_url=url,
                           photo=photo_data_uri(cert.holder_id))
    return render_pdf(html)


def list_pdf(printed: PrintedList) -> bytes:
    """A printed list: pages planned from the font's metrics, rendered in parallel parts, joined in order.

    Everything printed comes from the kept list (rows, serial, printer, time, hash), and the parts (each with
    its own font subset) follow only the number of rows and the settings, never the machine's CPUs, so a reprint
    is the same document byte for byte on any server; the parts render on as many CPUs as are allowed."""
    from exam.core.pdf import render_pages
    from exam.core.pdf_table import plan_table, table_html

    printed_at = to_local(printed.printed_at)
    count = len(printed.rows)
    plan = plan_table(
        list(printed.columns), list(printed.rows), title=printed.title,
        meta=(f"编号 {printed.serial} · 共 {count} 条 · 打印人 {printed.printed_by_name} · "
              f"{printed_at.strftime('%Y年%m月%d日 %H:%M')}"),
        trailer=f"合计 {count} 条    名单校验码(SHA-256):{printed.rows_hash}")
    css, pages = table_html(
        plan, running_left=printed.serial,
        running_right=f"打印人:{printed.printed_by_name}  打印时间:{printed_at.strftime('%Y-%m-%d %H:%M')}",
        footer_right=f"校验码 {printed.rows_hash[:16]}")
    rows_per_page = max(1, count // max(1, len(pages)))
    # LIST_PDF_PARTS parts, at least LIST_PDF_PART_ROWS rows each (a part's fixed cost and font subset), at most
    # MAX_PART_ROWS (each part's layout is held in memory while it renders)
    parts = max(1, int(current_app.config["LIST_PDF_PARTS"]))
    part_rows = max(int(current_app.config["LIST_PDF_PART_ROWS"]), -(-count // parts))
    part_rows = min(part_rows, MAX_PART_ROWS)
    return render_pages(pages, css, title=printed.title, created=printed_at.isoformat(),
                        author=printed.printed_by_name, pages_per_part=max(1, part_rows // rows_per_page))
