from __future__ import annotations

from flask_login import current_user

from exam.api import api_blueprint
from exam.api.schemas import MeSchema
from exam.core.access import login_required

blp = api_blueprint("api_system", __name__, "Who am I")


@blp.route("/me", methods=["GET"])
@login_required
@blp.response(200, MeSchema)
def me():
    """The signed-in user and their roles."""
    return current_user
