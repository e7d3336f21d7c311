"""Access control: every view declares who may use it, and the declaration is the check.

``view.access`` is the set of roles allowed (``public`` means anyone, ``examinee`` any signed-in user).
The route-walking test reads the same attribute, so the code and the test cannot drift apart.
"""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user

from exam.extensions import login_manager

PUBLIC = "public"
EXAMINEE = "examinee"
PRIVILEGED_ROLES = ("legal", "hr", "admin")
ALL_ROLES = (EXAMINEE, *PRIVILEGED_ROLES)


def public(view):
    # Bound methods (framework views) keep attributes on their function.
    getattr(view, "__func__", view).access = frozenset({PUBLIC})
    return view


def roles_required(*roles: str):
    unknown = set(roles) - set(ALL_ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {unknown}")

    def decorate(view):
        @wraps(view)
        def checked(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_any_role(roles):
                abort(403)
            return view(*args, **kwargs)

        checked.access = frozenset(roles)
        return checked

    return decorate


login_required = roles_required(EXAMINEE)
