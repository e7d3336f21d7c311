from __future__ import annotations

import os

from tests.question_bank.helpers import good_rows, xlsx

SHOTS = os.environ.get("SCREENSHOT_DIR")


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_legal_officer_checks_a_file_imports_it_and_previews_a_question(page, make_user, tmp_path):
    make_user("L0001", name="周法明", roles=["legal"])
    page.goto("/login")
    page.get_by_label("工号").fill("L0001")
    page.get_by_label("密码").fill("Passw0rd2026")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/")
    page.get_by_role("link", name="题库").first.click()
    page.get_by_role("link", name="导入").click()
    path = tmp_path / "题库.xlsx"
    path.write_bytes(xlsx(good_rows()))
    page.set_input_files("input[type=file]", str(path))
    page.get_by_role("button", name="检查文件").click()
    assert "新增试题 5 道" in page.locator(".import-summary").inner_text()
    shot(page, "import-report")
    page.get_by_role("button", name="确认导入").click()
    assert "已导入 5 道试题" in page.content()
    shot(page, "bank-list")
    page.get_by_role("link", name="行政处罚的追责时效一般为（ ）。").click()
    assert page.locator(".answer-key").is_visible()
    shot(page, "question")
    page.get_by_role("link", name="以考生视角预览").click()
    assert page.locator(".answer-key").count() == 0
    shot(page, "preview")
