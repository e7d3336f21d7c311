from __future__ import annotations

from sqlalchemy import select

from exam.exams.models import Attempt, WrongAnswer
from exam.extensions import db
from tests.exams import factories as f


def test_practice_gives_instant_feedback_and_fills_the_wrong_answer_book(app, client, make_user):
    user = make_user()
    with app.app_context():
        root = f.category("公共法律知识")
        sub = f.category("行政处罚法", parent=root)
        q = f.question("single", cat=sub, answer="B")
        f.question("single", cat=f.category("其他"), answer="A")
        db.session.commit()
        qid, root_id = q.id, root.id
    client.login_as(user)
    page = client.get("/practice/").get_data(as_text=True)
    assert "公共法律知识/行政处罚法" in page
    started = client.get(f"/practice/?categories={root_id}&go=1")
    assert started.status_code == 302 and f"/practice/questions/{qid}" in started.headers["Location"]
    question_page = client.get(f"/practice/questions/{qid}").get_data(as_text=True)
    assert "解析" not in question_page and "依法作答" not in question_page
    wrong = client.post_form(f"/practice/questions/{qid}", {"q1": "A"}).get_data(as_text=True)
    assert "错题本" in wrong and "依法作答" in wrong
    with app.app_context():
        entry = db.session.scalar(select(WrongAnswer))
        assert (entry.question_id, entry.times_wrong, entry.resolved_at) == (qid, 1, None)
    book = client.get("/practice/wrong-answers").get_data(as_text=True)
    assert f"/practice/questions/{qid}" in book
    right = client.post_form(f"/practice/questions/{qid}", {"q1": "B"}).get_data(as_text=True)
    assert "回答正确" in right
    with app.app_context():
        assert db.session.scalar(select(WrongAnswer)).resolved_at is not None
        assert db.session.scalar(select(Attempt.id)) is None  # practice never creates exam attempts
    assert f"/practice/questions/{qid}" not in client.get("/practice/wrong-answers").get_data(as_text=True)


def test_a_bad_practice_answer_is_422_and_inactive_questions_are_404(app, client, make_user):
    user = make_user()
    with app.app_context():
        cat = f.category("公共法律知识")
        q = f.question("multiple", cat=cat)
        draft = f.question("single", cat=cat, status="draft")
        case = f.question("case_analysis", cat=cat)
        db.session.commit()
        ids = q.id, draft.id, case.id
    client.login_as(user)
    assert client.post_form(f"/practice/questions/{ids[0]}", {"q1": "Z"}).status_code == 422
    assert client.post_form(f"/practice/questions/{ids[0]}", {}).status_code == 422
    assert client.get(f"/practice/questions/{ids[1]}").status_code == 404
    assert client.get(f"/practice/questions/{ids[2]}").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(WrongAnswer.id)) is None
