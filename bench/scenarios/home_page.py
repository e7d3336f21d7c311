"""GET / for a signed-in examinee (session cookie, user loaded from the database, page rendered)."""

from bench.scenarios._http import check_tool, closed_loop, estimate_seconds  # noqa: F401

NAME = "home_page"
TITLE = "Home page signed in"


def available(app):
    return check_tool()


def run(ctx):
    result, _ = closed_loop(ctx, "home_page.py", "GET /")
    return result
