from __future__ import annotations

import io

from sqlalchemy import select

from exam.extensions import db
from question_bank import operations as ops
from question_bank.models import Law, Question
from tests.helpers import count_rows
from tests.question_bank.helpers import good_rows, xlsx


def make_question(app, stem="行政处罚的追责时效一般为（ ）。", **extra):
    with app.test_request_context():
        q = ops.create_question(ops.QuestionData(
            type="single", stem=stem, answer="B", explanation="第三十六条规定的二年。",
            options=[{"key": k, "text": t} for k, t in zip("ABCD", ["一年", "二年", "三年", "五年"], strict=True)],
            **extra))
        db.session.commit()
        return q.id


def test_bank_list_filters_and_searches(app, client, make_user):
    client.login_as(make_user(roles=["legal"]))
    make_question(app)
    make_question(app, stem="行政许可的期限为（ ）。")
    html = client.get("/bank/?q=追责").get_data(as_text=True)
    assert "行政处罚的追责时效" in html and "行政许可的期限" not in html
    html = client.get("/bank/?type=multiple").get_data(as_text=True)
    assert "行政处罚的追责时效" not in html
    assert client.get("/bank/?category_id=abc&difficulty=x&status=zzz").status_code == 200


def test_examinee_may_not_see_the_bank(client, make_user):
    client.login_as(make_user())
    assert client.get("/bank/").status_code == 403


def test_create_edit_and_history_pages(app, client, make_user):
    client.login_as(make_user(roles=["legal"]))
    response = client.post_form("/bank/questions/new?type=multiple", {
        "stem": "下列属于行政处罚的有（ ）。", "option_A": "警告", "option_B": "罚款", "option_C": "责令改正",
        "answer_letters": "A、B", "difficulty": "3", "category_id": "0", "law_id": "0", "status": "active",
        "answer_truth": "true", "tags": "种类、处罚"})
    assert response.status_code == 302
    with app.app_context():
        question = db.session.scalars(select(Question)).one()
        qid = question.id
        assert question.current.answer == ["A", "B"] and {t.name for t in question.tags} == {"种类", "处罚"}
    response = client.post_form(f"/bank/questions/{qid}/edit", {
        "stem": "下列属于行政处罚种类的有（ ）。", "option_A": "警告", "option_B": "罚款", "option_C": "责令改正",
        "answer_letters": "AB", "difficulty": "3", "category_id": "0", "law_id": "0", "status": "active",
        "answer_truth": "true"})
    assert response.status_code == 302
    html = client.get(f"/bank/questions/{qid}").get_data(as_text=True)
    assert "第 2 版" in html and "第 1 版" in html
    old = client.get(f"/bank/questions/{qid}?version=1").get_data(as_text=True)
    assert "下列属于行政处罚的有" in old
    bad = client.post_form(f"/bank/questions/{qid}/edit", {
        "stem": "x", "option_A": "警告", "option_B": "罚款", "option_C": "c", "answer_letters": "AZ",
        "difficulty": "3", "category_id": "0", "law_id": "0", "status": "active", "answer_truth": "true"})
    assert bad.status_code == 200 and "不是选项字母" in bad.get_data(as_text=True)


def test_preview_as_examinee_hides_the_answer_and_escapes_html(app, client, make_user):
    client.login_as(make_user(roles=["legal"]))
    qid = make_question(app, stem="<script>alert(1)</script>追责时效（ ）")
    html = client.get(f"/bank/questions/{qid}/preview").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "answer-key" not in html and "第三十六条规定的二年" not in html
    full = client.get(f"/bank/questions/{qid}").get_data(as_text=True)
    assert "answer-key" in full and "第三十六条规定的二年" in full


def test_retire_and_bulk_actions(app, client, make_user):
    client.login_as(make_user(roles=["legal"]))
    a, b = make_question(app), make_question(app, stem="第二题（ ）")
    client.post_form(f"/bank/questions/{a}/status", {"status": "retired"})
    with app.app_context():
        assert db.session.get(Question, a).status == "retired"
        category = ops.ensure_category("公共法律知识/行政处罚")
        db.session.commit()
        cid = category.id
    client.post_form("/bank/bulk", {"action": "move", "category_id": str(cid), "ids": [str(a), str(b)]})
    client.post_form("/bank/bulk", {"action": "add_tags", "tags": "重点", "category_id": "0", "ids": [str(b)]})
    with app.app_context():
        assert {db.session.get(Question, i).category_id for i in (a, b)} == {cid}
        assert [t.name for t in db.session.get(Question, b).tags] == ["重点"]


def test_law_page_marks_questions_for_review(app, client, make_user):
    client.login_as(make_user(roles=["legal"]))
    with app.app_context():
        law = Law(name="中华人民共和国计量法", short_name="计量法")
        db.session.add(law)
        db.session.commit()
        law_id = law.id
    qid = make_question(app)
    with app.app_context():
        db.session.get(Question, qid).law_id = law_id
        db.session.commit()
    response = client.post_form(f"/bank/laws/{law_id}/edit", {"name": "中华人民共和国计量法", "short_name": "计量法",
                                                              "repealed_on": "2026-01-01"})
    assert response.status_code == 302
    with app.app_context():
        question = db.session.get(Question, qid)
        assert question.needs_review and "废止" in question.review_reason
    assert "需要审核" in client.get("/bank/").get_data(as_text=True)


def test_category_pages(app, client, make_user):
    client.login_as(make_user(roles=["legal"]))
    assert client.post_form("/bank/categories/new", {"name": "公共法律知识", "parent_id": "0"}).status_code == 302
    assert "公共法律知识" in client.get("/bank/categories").get_data(as_text=True)


def upload(client, data, name, **extra):
    return client.post("/bank/import", data={"csrf_token": client.csrf_token(), "file": (io.BytesIO(data), name),
                                             **extra}, content_type="multipart/form-data")


def test_import_page_previews_then_imports_on_confirm(app, client, make_user):
    client.login_as(make_user(roles=["legal"]))
    response = upload(client, xlsx(good_rows()), "题库.xlsx")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "新增试题 5 道" in html
    with app.app_context():
        assert count_rows(Question) == 0
    import re

    token = re.search(r'name="token" type="hidden" value="([0-9a-f]+)"', html).group(1)
    response = client.post_form("/bank/import/confirm", {"token": token})
    assert response.status_code == 302
    with app.app_context():
        assert count_rows(Question) == 5


def test_import_page_lists_bad_rows(app, client, make_user):
    client.login_as(make_user(roles=["legal"]))
    rows = [list(r) for r in good_rows()]
    rows[2][6] = "可能"
    response = upload(client, xlsx(rows), "题库.xlsx")
    assert response.status_code == 422
    assert 'data-row="4"' in response.get_data(as_text=True)


def test_template_and_export_downloads(app, client, make_user):
    client.login_as(make_user(roles=["legal"]))
    make_question(app)
    template = client.get("/bank/import/template.xlsx")
    assert template.status_code == 200 and template.data[:2] == b"PK"
    exported = client.get("/bank/export?format=gift&q=追责")
    assert "行政处罚的追责时效" in exported.get_data(as_text=True)
    assert client.get("/bank/export?format=xlsx").data[:2] == b"PK"


def api_upload(client, data, name, **extra):
    return client.post("/api/v1/questions/import", data={"file": (io.BytesIO(data), name), **extra},
                       headers={"X-CSRFToken": client.csrf_token()}, content_type="multipart/form-data")


def test_api_import_returns_counts_or_422_with_row_errors(app, client, make_user):
    client.login_as(make_user(roles=["legal"]))
    rows = [list(r) for r in good_rows()]
    rows[0][6] = "E"
    response = api_upload(client, xlsx(rows), "bad.xlsx")
    assert response.status_code == 422
    assert response.json["errors"] == [{"row": 2, "message": "第2行:答案 E 不在选项中"}]
    assert response.json["imported"] == 0
    response = api_upload(client, xlsx(good_rows()), "good.xlsx")
    assert response.status_code == 200
    assert response.json["imported"] == 5 and response.json["duplicates"] == 0 and response.json["errors"] == []
    response = api_upload(client, xlsx(good_rows()), "good.xlsx")
    assert response.json["imported"] == 0 and response.json["duplicates"] == 5
    assert api_upload(client, b"", "empty.xlsx").status_code == 422
    listed = client.get("/api/v1/questions?type=single")
    assert listed.status_code == 200 and [q["answer"] for q in listed.json] == ["B"]
    assert client.get("/api/v1/questions?per_page=501").status_code == 422


def test_api_import_requires_the_legal_role(client, make_user):
    client.login_as(make_user(roles=["hr"]))
    assert api_upload(client, xlsx(good_rows()), "good.xlsx").status_code == 403


def test_every_type_renders_on_the_question_preview_and_list_pages(app, client, make_user):
    import random

    from question_bank.seed import seed

    client.login_as(make_user(roles=["legal"]))
    with app.test_request_context():
        seed(random.Random(1))
        db.session.commit()
        samples = {}
        for q in db.session.scalars(select(Question)):
            samples.setdefault(q.type, (q.id, q.current.stem))
    assert len(samples) == 5
    for qid, stem in samples.values():
        page = client.get(f"/bank/questions/{qid}")
        assert page.status_code == 200 and stem[:10] in page.get_data(as_text=True)
        assert client.get(f"/bank/questions/{qid}/preview").status_code == 200
        assert client.get(f"/bank/questions/{qid}/edit").status_code == 200
    with app.app_context():
        total = count_rows(Question)
    listing = client.get("/bank/?page=2")
    assert listing.status_code == 200 and f"共 {total} 道试题" in listing.get_data(as_text=True)
    assert client.get("/bank/laws").status_code == 200 and client.get("/bank/categories").status_code == 200
