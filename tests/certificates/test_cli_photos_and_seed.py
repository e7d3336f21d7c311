"""Printing from the CLI (no request), certificate photos that are refused, and what seed-demo gives HR."""

from __future__ import annotations

import io
import random

from PIL import Image
from sqlalchemy import func, select

from exam.accounts.models import User
from exam.certificates import lists, printing
from exam.certificates import operations as ops
from exam.certificates.models import Certificate, EnforcementCategory, HolderPhoto
from exam.core.timeutil import local_today
from exam.extensions import db
from tests.certificates.pdf_helpers import issue_on_pass, pdf_text

_text = pdf_text
_issue = issue_on_pass


def test_the_cli_prints_a_list_as_pdf_outside_any_request(app, make_user, fake_sources, category, tmp_path):
    _issue(app, make_user, fake_sources, category, "C6001", "命令行持证人")
    make_user("C6900", roles=["hr"], name="命令行人事")
    out = tmp_path / "valid.pdf"
    result = app.test_cli_runner().invoke(args=["certificates", "eligibility", "--list", "valid", "--format", "pdf",
                                                "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = _text(out.read_bytes())
    assert "命令行持证人" in text and "打印人:命令行人事" in text and "第 1 页 共 1 页" in text


def test_a_certificate_card_renders_outside_a_request_with_its_verification_link(app, make_user, fake_sources,
                                                                                  category):
    cert_id = _issue(app, make_user, fake_sources, category, "C6002", "卡片持证人")
    with app.app_context():
        cert = db.session.get(Certificate, cert_id)
        pdf = printing.certificate_card_pdf(cert)
        token = cert.verification_token
        assert printing.verify_url(cert).endswith(f"/verify/{token}")
    assert "卡片持证人" in _text(pdf)


def _upload(client, user_id, payload: bytes, name="photo.jpg"):
    return client.post(f"/certificates/people/{user_id}/photo", data={
        "csrf_token": client.csrf_token(), "photo": (io.BytesIO(payload), name)}, follow_redirects=True)


def _has_photo(app, user_id) -> bool:
    with app.app_context():
        return db.session.get(HolderPhoto, user_id) is not None


def test_a_photo_that_is_not_an_image_is_refused_with_a_message_and_nothing_stored(app, client, make_user):
    hr = make_user("C6901", roles=["hr"])
    person = make_user("C6003")
    client.login_as(hr)
    for payload, name in [(b"<html>not an image</html>", "x.jpg"), (b"%PDF-1.7 not a photo", "x.png"),
                          (b"GIF89a" + b"\0" * 64, "x.gif")]:
        response = _upload(client, person.id, payload, name)
        assert response.status_code == 200
        assert "照片须为 JPEG 或 PNG 格式的图片。" in response.get_data(as_text=True)
        assert not _has_photo(app, person.id)


def test_a_huge_photo_is_refused_by_size_and_by_pixels_and_nothing_stored(app, client, make_user):
    hr = make_user("C6902", roles=["hr"])
    person = make_user("C6004")
    client.login_as(hr)
    app.config["CERT_PHOTO_MAX_BYTES"] = 1024 * 1024
    noisy = io.BytesIO()
    Image.frombytes("RGB", (1000, 1000), random.Random(6).randbytes(3_000_000)).save(noisy, "PNG")
    assert len(noisy.getvalue()) > 1024 * 1024
    response = _upload(client, person.id, noisy.getvalue(), "big.png")
    assert response.status_code == 200 and "文件超过 1 MB 上限,已拒收。" in response.get_data(as_text=True)
    assert not _has_photo(app, person.id)
    bomb = io.BytesIO()
    Image.new("1", (9000, 9000)).save(bomb, "PNG")  # a few KB on disk, 81 million pixels decoded
    assert len(bomb.getvalue()) < 64 * 1024
    response = _upload(client, person.id, bomb.getvalue(), "bomb.png")
    assert response.status_code == 200 and "照片像素过大。" in response.get_data(as_text=True)
    assert not _has_photo(app, person.id)
    good = io.BytesIO()
    Image.new("RGB", (300, 400), "white").save(good, "JPEG")
    _upload(client, person.id, good.getvalue())
    assert _has_photo(app, person.id)


def test_seed_demo_gives_holders_renewals_suspended_revoked_and_every_refusal_reason(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        statuses = dict(db.session.execute(select(Certificate.status, func.count()).group_by(Certificate.status)).all())
        assert statuses.get("valid", 0) >= 15 and statuses.get("suspended") == 1 and statuses.get("revoked") == 1
        zj = db.session.scalar(select(EnforcementCategory).where(EnforcementCategory.code == "ZJ"))
        _title, _columns, renewal = lists.build_list("renewal", None)
        assert len(renewal) >= 4
        _title, _columns, eligible = lists.build_list("issue", zj)
        assert eligible
        users = list(db.session.scalars(select(User).where(User.username.like("A%"))))
        verdicts = ops.check_eligibility(users, zj, local_today())
        codes = {reason.code for verdict in verdicts.values() for reason in verdict.reasons}
        assert {"not_employed", "no_passed_exam", "hours_short", "bulletins_unconfirmed", "revoked_recently",
                "already_holds"} <= codes
