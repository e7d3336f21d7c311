"""GET /api/v1/me with a bearer token (token looked up by its digest per request)."""

from bench.scenarios._http import check_tool, closed_loop, estimate_seconds  # noqa: F401

NAME = "api_me"
TITLE = "API: GET /api/v1/me with a bearer token"


def available(app):
    return check_tool()


def run(ctx):
    result, _ = closed_loop(ctx, "api_me.py", "GET /api/v1/me")
    return result
