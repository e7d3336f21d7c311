from __future__ import annotations

from decimal import Decimal

from exam.extensions import db


def _bulletins(app):
    from exam.core import uploads
    from exam.study import operations as ops
    from tests.study.samples import MINIMAL_PDF

    with app.test_request_context():
        text = ops.create_bulletin(
            ops.BulletinData(year=2026, title="行政复议法修订要点", summary="复议前置", body_source="## 要点\n\n正文",
                             hours=Decimal("2")), by=None)
        pdf = ops.create_bulletin(
            ops.BulletinData(year=2026, title="电梯安全监管重点", hours=Decimal("1")),
            by=None, original=uploads.check_file(MINIMAL_PDF, "电梯.pdf", {"pdf"}))
        ops.publish_bulletin(text)
        ops.publish_bulletin(pdf)
        db.session.commit()
        return text.id, pdf.id


def _sign_in(page, next_url):
    page.goto(f"/login?next={next_url}")
    page.get_by_label("工号").fill("P0001")
    page.get_by_label("密码").fill("Passw0rd2026")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"**{next_url}")


def test_a_member_of_staff_reads_a_bulletin_from_the_list_and_confirms_it(app, page, make_user):
    make_user("P0001", name="林则徐", department="市局/稽查科")
    text_id, _pdf_id = _bulletins(app)
    _sign_in(page, "/study")
    row = page.locator(f'tr[data-bulletin="{text_id}"]')
    assert "未读" in row.inner_text()
    row.get_by_role("link", name="行政复议法修订要点").click()
    page.wait_for_url(f"**/study/{text_id}")
    assert page.locator(".bulletin-body h2").inner_text() == "要点"
    with page.expect_navigation():
        page.get_by_role("button", name="我已学习").click()
    assert "计入 2 学时" in page.locator("#confirmed").inner_text()
    page.goto("/study")
    assert "已学习" in page.locator(f'tr[data-bulletin="{text_id}"]').inner_text()
    assert "2 / 40" in page.locator("#my-hours").inner_text()


def test_the_original_pdf_is_embedded_from_the_same_origin(app, page, make_user):
    make_user("P0001", name="林则徐", department="市局/稽查科")
    _text_id, pdf_id = _bulletins(app)
    _sign_in(page, "/study")
    refused = []
    page.on("console", lambda msg: refused.append(msg.text) if "Refused" in msg.text else None)
    with page.expect_response(f"**/study/{pdf_id}/original/view") as embedded:
        page.goto(f"/study/{pdf_id}", wait_until="domcontentloaded")
    response = embedded.value
    assert response.status == 200 and response.headers["x-frame-options"] == "SAMEORIGIN"
    assert page.locator("iframe.pdf-frame").get_attribute("src") == f"/study/{pdf_id}/original/view"
    assert not [m for m in refused if "frame" in m], refused
