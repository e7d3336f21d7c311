"""Printed certificates and lists: Chinese text extracted back, the QR code decodes to the public page."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image
from pypdf import PdfReader

from exam.accounts.models import User
from exam.certificates import lists, printing
from exam.certificates import operations as ops
from exam.certificates.models import Certificate, PrintedList
from exam.extensions import db
from tests.certificates.pdf_helpers import issue_on_pass, pdf_text

_text = pdf_text
_issue = issue_on_pass


def test_certificate_card_shows_chinese_text_and_a_qr_code_that_opens_the_public_page(
        app, client, make_user, fake_sources, category):
    cert_id = _issue(app, make_user, fake_sources, category, "K0001", "欧阳执法")
    hr = make_user("K0900", roles=["hr"])
    client.login_as(hr)
    photo = io.BytesIO()
    Image.new("RGB", (300, 400), "white").save(photo, "JPEG")
    client.post(f"/certificates/people/{hr.id}/photo", data={"csrf_token": client.csrf_token(),
                                                               "photo": (io.BytesIO(b"not an image"), "x.jpg")})
    response = client.get(f"/certificates/{cert_id}/card.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = _text(response.data)
    with app.app_context():
        cert = db.session.get(Certificate, cert_id)
        number, token = cert.number, cert.verification_token
    for expected in ("行政执法证", "欧阳执法", number, "质量技术监督", "全市", "有效期至"):
        assert expected in text, expected
    images = [img.image for page in PdfReader(io.BytesIO(response.data)).pages for img in page.images]
    decoded = [r.text for img in images for r in zxingcpp.read_barcodes(img)]
    assert len(decoded) == 1 and decoded[0].endswith(f"/verify/{token}")
    path = "/" + decoded[0].split("/", 3)[3]
    client.post_form("/logout")
    assert "该执法证有效" in client.get(path).get_data(as_text=True)
    with app.test_request_context(method="POST"):
        ops.change_status(db.session.get(Certificate, cert_id), "revoked", reason="吊销")
        db.session.commit()
    assert "该执法证无效" in client.get(path).get_data(as_text=True)


def test_hr_list_pdf_has_serial_printer_pages_and_hash_and_reprints_the_same(app, make_user, fake_sources,
                                                                             category):
    for n in range(3):
        _issue(app, make_user, fake_sources, category, f"K01{n}", f"名单人员{n}")
    hr = make_user("K0901", roles=["hr"], name="吴人事")
    with app.test_request_context(method="POST"):
        printed = lists.print_list("valid", None, by=db.session.get(User, hr.id))
        db.session.commit()
        first = printing.list_pdf(printed)
        serial, digest = printed.serial, printed.rows_hash
    text = _text(first)
    for expected in (serial, "吴人事", "第 1 页 共 1 页", "名单人员0", "名单人员2", digest):
        assert expected in text, expected
    _issue(app, make_user, fake_sources, category, "K0199", "后来者")
    with app.test_request_context():
        again = printing.list_pdf(db.session.query(PrintedList).filter_by(serial=serial).one())
    assert _text(again) == text and "后来者" not in _text(again)


def test_a_long_list_runs_over_pages_with_page_numbers(app, make_user):
    hr = make_user("K0902", roles=["hr"])
    with app.test_request_context(method="POST"):
        printed = PrintedList(serial="T-1", kind="valid", title="测试名单", columns=["姓名", "证号"],
                              rows=[[f"人员{n}", f"ZJ{n:05d}"] for n in range(120)], rows_hash="0" * 64,
                              printed_by_id=hr.id, printed_by_name="测试")
        db.session.add(printed)
        db.session.flush()
        pdf = printing.list_pdf(printed)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    text = _text(pdf)
    assert pages > 1 and f"第 1 页 共 {pages} 页" in text and f"第 {pages} 页 共 {pages} 页" in text
    assert "人员119" in text


def test_a_list_rendered_in_parts_is_numbered_across_the_whole_document(app, make_user):
    app.config["LIST_PDF_PART_ROWS"] = 50
    hr = make_user("K0903", roles=["hr"])
    with app.test_request_context(method="POST"):
        printed = PrintedList(serial="T-2", kind="valid", title="分段名单", columns=["姓名", "证号"],
                              rows=[[f"分段{n}", f"ZJ{n:05d}"] for n in range(130)], rows_hash="f" * 64,
                              printed_by_id=hr.id, printed_by_name="测试")
        db.session.add(printed)
        db.session.flush()
        pdf = printing.list_pdf(printed)
    reader = PdfReader(io.BytesIO(pdf))
    pages = len(reader.pages)
    texts = [page.extract_text() for page in reader.pages]
    assert pages >= 3
    for number, text in enumerate(texts, start=1):
        assert f"第 {number} 页 共 {pages} 页" in text
        assert "T-2" in text  # the serial heads every page
    whole = "\n".join(texts)
    assert all(f"分段{n}" in whole for n in range(130))
    assert whole.count("分段名单") == 1 and "f" * 64 in whole
