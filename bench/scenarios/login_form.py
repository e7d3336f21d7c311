"""The sign-in form: GET /login then POST /login with a correct password; bound by scrypt by design."""

from bench.scenarios._http import check_tool, closed_loop, estimate_seconds  # noqa: F401

NAME = "login_form"
TITLE = "Sign-in form POST (scrypt password check)"


def available(app):
    return check_tool()


def run(ctx):
    result, _ = closed_loop(ctx, "login_form.py", "POST /login", max_requests=20_000)
    get_row = ctx.row(_, "GET /login")
    result["rows"].append(get_row)
    result["notes"].append(
        "Each simulated user signs in again and again with a fresh session (GET /login for the CSRF token, then "
        "POST). The POST checks the password with scrypt (werkzeug default: n=32768, r=8, p=1), deliberately slow "
        "against guessing; the profile below shows how much of the time that is. Examinees sign in once per exam.")
    return result
