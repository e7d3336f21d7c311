from __future__ import annotations


def test_sign_in_through_the_browser_and_see_the_chinese_home_page(page, make_user):
    make_user("P0001", name="林则徐", department="稽查科")
    page.goto("/")
    assert page.url.endswith("/login?next=/")
    assert "登录" in page.title()
    page.get_by_label("工号").fill("P0001")
    page.get_by_label("密码").fill("Passw0rd2026")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text() == "林则徐,您好"
    assert page.get_by_role("button", name="退出").is_visible()
    # the language switch works without inline script (CSP forbids it)
    with page.expect_navigation():
        page.select_option("#lang-select", "en")
    assert page.get_by_role("button", name="Sign out").is_visible()
