"""Accounts: users, departments, roles, login."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)

from exam.accounts import views  # noqa: E402,F401
