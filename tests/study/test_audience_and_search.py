"""Audience by department includes sub-departments; Chinese search works on both databases."""

from __future__ import annotations

from exam.extensions import db
from exam.study import audience
from exam.study.models import Bulletin


def test_a_department_audience_includes_sub_departments_and_excludes_others(app, client, make_user,
                                                                            make_bulletin):
    make_user("top", department="市局/东城分局")
    make_user("deep", department="市局/东城分局/执法一队/一组")
    make_user("other", department="市局/西城分局/执法二队")
    make_user("bureau", department="市局")
    make_user("left", department="市局/东城分局", employment_status="left")
    bulletin_id = make_bulletin("东城专项", departments=["市局/东城分局"])
    with app.app_context():
        bulletin = db.session.get(Bulletin, bulletin_id)
        assert [u.username for u in audience.assigned_users(bulletin)] == ["deep", "top"]
    for username, sees in (("top", True), ("deep", True), ("other", False), ("bureau", False)):
        with app.app_context():
            from exam.accounts.models import user_by_username

            user = user_by_username(username)
        client.login_as(user)
        assert ("东城专项" in client.get("/study").get_data(as_text=True)) is sees, username
        assert (client.get(f"/study/{bulletin_id}").status_code == 200) is sees, username
        api = client.get(f"/api/v1/bulletins/{bulletin_id}")
        assert api.status_code == (200 if sees else 404), username


def test_the_legal_department_may_read_any_bulletin(client, make_user, make_bulletin):
    bulletin_id = make_bulletin("他部门", departments=["市局/计量科"], publish=False)
    client.login_as(make_user("legal1", roles=["legal"], department="市局/法规科"))
    assert client.get(f"/study/{bulletin_id}").status_code == 200
    assert client.get(f"/api/v1/bulletins/{bulletin_id}").status_code == 200


def _seed_for_search(make_bulletin):
    make_bulletin("行政复议法修订要点", summary="复议前置", body="答复期限十日")
    make_bulletin("电梯安全监管重点", summary="维保", body="电梯使用单位应当对**电梯安全**负责")
    make_bulletin("计量法与民生计量", summary="集贸市场", body="强制检定 100% 覆盖")
    make_bulletin("产品质量抽查", summary="抽样", body="不合格产品后处理,涉及行政复议的告知")


def test_a_two_character_chinese_search_finds_titles_summaries_and_bodies(client, make_user, make_bulletin):
    _seed_for_search(make_bulletin)
    client.login_as(make_user("p1"))
    page = client.get("/study?q=复议").get_data(as_text=True)
    assert "行政<mark>复议</mark>法修订要点" in page
    assert "产品质量抽查" in page  # found in the body only
    assert "电梯安全监管重点" not in page and "计量法与民生计量" not in page
    page = client.get("/study?q=电梯安全").get_data(as_text=True)
    assert "<mark>电梯安全</mark>监管重点" in page and "行政复议法修订要点" not in page
    titles = [b["title"] for b in client.get("/api/v1/bulletins?q=维保").get_json()]
    assert titles == ["电梯安全监管重点"]


def test_search_treats_wildcards_literally_and_needs_two_characters(client, make_user, make_bulletin):
    _seed_for_search(make_bulletin)
    client.login_as(make_user("p1"))
    titles = [b["title"] for b in client.get("/api/v1/bulletins?q=0%").get_json()]
    assert titles == ["计量法与民生计量"]
    assert client.get("/api/v1/bulletins?q=%25%25").get_json() == []
    assert client.get("/api/v1/bulletins?q=__").get_json() == []
    short = client.get("/study?q=复")
    assert short.status_code == 200 and "请至少输入 2 个字" in short.get_data(as_text=True)
    assert client.get("/api/v1/bulletins?q=复").status_code == 422


def test_search_highlighting_escapes_markup(client, make_user, make_bulletin):
    make_bulletin("<img src=x onerror=alert(1)>复议", summary="")
    client.login_as(make_user("legal1", roles=["legal"]))
    page = client.get("/study/manage?q=复议").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;<mark>复议</mark>" in page
    assert "<img src=x" not in page
