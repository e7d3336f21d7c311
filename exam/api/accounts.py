from __future__ import annotations

from flask_smorest import abort
from sqlalchemy import or_, select

from exam.accounts import operations as ops
from exam.accounts.models import Department, User
from exam.api import api_blueprint
from exam.api.schemas import DepartmentSchema, PageArgsSchema, UserSchema
from exam.core.access import roles_required
from exam.extensions import db

blp = api_blueprint("api_accounts", __name__, "Staff and departments")


@blp.route("/users", methods=["GET"])
@roles_required("hr", "admin")
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, UserSchema(many=True))
def list_users(args):
    """Staff, filtered by staff number, name or department."""
    stmt = select(User).outerjoin(Department).order_by(User.username)
    if args["q"]:
        like = f"%{args['q']}%"
        stmt = stmt.where(or_(User.username.ilike(like), User.name.ilike(like), Department.name.ilike(like)))
    return db.paginate(stmt, page=args["page"], per_page=args["per_page"], error_out=False).items


@blp.route("/users", methods=["POST"])
@roles_required("admin")
@blp.arguments(UserSchema)
@blp.response(201, UserSchema)
def create_user(data):
    """Create a member of staff (an initial password is generated; the user must change it)."""
    department = None
    if data.get("department_id"):
        department = db.session.get(Department, data["department_id"])
        if department is None:
            abort(422, message="department_id does not exist")
    user, _password = ops.create_user(
        ops.UserData(
            username=data["username"],
            name=data["name"],
            department=department,
            post=data.get("post"),
            employment_status=data["employment_status"],
            is_leader=data["is_leader"],
            roles=data.get("roles", set()),
        )
    )
    db.session.commit()
    return user


@blp.route("/users/<string:username>", methods=["GET"])
@roles_required("hr", "admin")
@blp.response(200, UserSchema)
def get_user(username):
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        abort(404)
    return user


@blp.route("/departments", methods=["GET"])
@roles_required("examinee")
@blp.response(200, DepartmentSchema(many=True))
def list_departments():
    """The department tree, flat, each with its path."""
    return db.session.scalars(select(Department).order_by(Department.sort_order, Department.name)).all()


