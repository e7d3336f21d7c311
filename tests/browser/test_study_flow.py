from __future__ import annotations

from decimal import Decimal

from exam.extensions import db


def test_a_member_of_staff_reads_an_embedded_pdf_bulletin_and_confirms_it(app, page, make_user):
    from exam.core import uploads
    from exam.study import operations as ops
    from tests.study.samples import MINIMAL_PDF

    make_user("P0001", name="林则徐", department="市局/稽查科")
    with app.test_request_context():
        bulletin = ops.create_bulletin(
            ops.BulletinData(year=2026, title="行政复议法修订要点", summary="复议前置", body_source="## 要点\n\n正文",
                             hours=Decimal("2")),
            by=None, original=uploads.check_file(MINIMAL_PDF, "复议.pdf", {"pdf"}),
        )
        ops.publish_bulletin(bulletin)
        db.session.commit()
        bulletin_id = bulletin.id
    refused = []
    page.on("console", lambda msg: refused.append(msg.text) if "Refused" in msg.text else None)
    page.goto("/login?next=/study")
    page.get_by_label("工号").fill("P0001")
    page.get_by_label("密码").fill("Passw0rd2026")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/study")
    row = page.locator(f'tr[data-bulletin="{bulletin_id}"]')
    assert "未读" in row.inner_text()
    row.get_by_role("link", name="行政复议法修订要点").click()
    page.wait_for_url(f"**/study/{bulletin_id}")
    frame = page.locator("iframe.pdf-frame")
    assert frame.get_attribute("src") == f"/study/{bulletin_id}/original/view"
    page.get_by_role("button", name="我已学习").click()
    page.wait_for_url(f"**/study/{bulletin_id}")
    assert "计入 2 学时" in page.locator("#confirmed").inner_text()
    assert not [m for m in refused if "frame" in m], refused
    page.goto("/study")
    assert "已学习" in page.locator(f'tr[data-bulletin="{bulletin_id}"]').inner_text()
    assert "2 / 40" in page.locator("#my-hours").inner_text()
