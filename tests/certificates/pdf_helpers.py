"""Helpers shared by the certificate printing tests: the text of a PDF, and a certificate issued on a pass."""

from __future__ import annotations

import io

from pypdf import PdfReader

from exam.accounts.models import User
from exam.certificates import operations as ops
from exam.certificates.models import EnforcementCategory
from exam.extensions import db


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def issue_on_pass(app, make_user, fake_sources, category, username, name) -> int:
    user = make_user(username, name=name)
    fake_sources.pass_exam(user)
    fake_sources.hours[user.id] = 40
    with app.test_request_context(method="POST"):
        cert = ops.issue_certificate(db.session.get(User, user.id), db.session.get(EnforcementCategory, category))
        db.session.commit()
        return cert.id
