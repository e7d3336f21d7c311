from __future__ import annotations

from exam.accounts.models import Department, User
from exam.core.audit import AuditLog
from exam.extensions import db


def test_admin_creates_a_user_and_sees_the_initial_password_once(app, client, make_user):
    client.login_as(make_user(roles=["admin"]))
    with app.app_context():
        dept_id = db.session.query(Department).filter_by(name="稽查科").one().id
    response = client.post_form("/admin/users/new", {
        "username": "B0001", "name": "王五", "department_id": dept_id, "post": "科员",
        "employment_status": "active", "roles": ["legal"], "language": ""})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "B0001" in html and "仅显示一次" in html
    with app.app_context():
        user = db.session.query(User).filter_by(username="B0001").one()
        assert user.roles == {"examinee", "legal"}
        assert user.must_change_password


def test_hr_cannot_assign_roles(app, client, make_user):
    client.login_as(make_user(roles=["hr"]))
    client.post_form("/admin/users/new", {"username": "B0002", "name": "赵六", "department_id": 0,
                                          "employment_status": "active", "roles": ["admin"], "language": ""})
    with app.app_context():
        assert db.session.query(User).filter_by(username="B0002").one().roles == {"examinee"}


def test_admin_role_change_is_audited_with_before_and_after(app, client, make_user):
    admin = make_user(roles=["admin"])
    target = make_user("B0003")
    client.login_as(admin)
    response = client.post_form(f"/admin/users/{target.id}/edit", {
        "username": "B0003", "name": target.name, "department_id": target.department_id,
        "employment_status": "active", "roles": ["hr"], "language": ""})
    assert response.status_code == 302
    with app.app_context():
        row = db.session.query(AuditLog).filter_by(action="user.roles_change").one()
        assert '"examinee"' in row.before and '"hr"' in row.after
        assert row.actor_id == admin.id


def test_last_admin_cannot_be_removed(app, client, make_user):
    admin = make_user(roles=["admin"])
    client.login_as(admin)
    client.post_form(f"/admin/users/{admin.id}/edit", {
        "username": admin.username, "name": admin.name, "department_id": 0,
        "employment_status": "active", "roles": [], "language": ""})
    with app.app_context():
        assert "admin" in db.session.get(User, admin.id).roles


def test_department_tree_create_and_refuse_cycle(app, client, make_user):
    client.login_as(make_user(roles=["admin"]))
    client.post_form("/admin/departments/new", {"name": "市局", "code": "SJ", "parent_id": 0, "sort_order": 0})
    with app.app_context():
        root = db.session.query(Department).filter_by(name="市局").one().id
    client.post_form("/admin/departments/new", {"name": "执法一队", "code": "", "parent_id": root, "sort_order": 1})
    with app.app_context():
        child = db.session.query(Department).filter_by(name="执法一队").one()
        assert child.path == "市局 / 执法一队"
        child_id = child.id
    response = client.post_form(f"/admin/departments/{root}/edit",
                                {"name": "市局", "code": "SJ", "parent_id": child_id, "sort_order": 0})
    assert "不能设为" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Department, root).parent_id is None
    html = client.get("/admin/departments").get_data(as_text=True)
    assert "执法一队" in html


def test_users_list_searches_by_name(client, make_user):
    make_user("C0001", name="欧阳修")
    make_user("C0002", name="司马光")
    client.login_as(make_user(roles=["hr"]))
    html = client.get("/admin/users?q=欧阳").get_data(as_text=True)
    assert "欧阳修" in html and "司马光" not in html
