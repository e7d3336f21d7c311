"""Printed certificates and lists (PDF through the app's one WeasyPrint entry, exam.core.pdf)."""

from __future__ import annotations

import base64

import segno
from flask import current_app, has_request_context, render_template, url_for

from exam.certificates.models import Certificate, HolderPhoto, PrintedList
from exam.core.timeutil import to_local
from exam.extensions import db


def verify_url(cert: Certificate) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL")
    path = url_for("certificates.verify", token=cert.verification_token)
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
    """A printed list; long ones are rendered in parts (in parallel) and numbered across the whole."""
    from exam.core.pdf import render_pdf, render_pdf_parts

    size = int(current_app.config["LIST_PDF_PART_ROWS"])
    numbered = list(enumerate(printed.rows, start=1))
    chunks = [numbered[i:i + size] for i in range(0, len(numbered), size)] or [[]]
    printed_at = to_local(printed.printed_at)
    parts = [render_template("pdf/hr_list.html", printed=printed, printed_at=printed_at, rows=chunk,
                             first=n == 0, last=n == len(chunks) - 1) for n, chunk in enumerate(chunks)]
    if len(parts) == 1:
        return render_pdf(parts[0])
    return render_pdf_parts(parts, page_size="A4 landscape")
