"""GET / for a signed-in examinee (session cookie, user loaded from the database, page rendered)."""

from bench.scenarios._http import check_tool, closed_loop

NAME = "home_page"
TITLE = "Home page signed in"


def available(app):
    return check_tool()


def estimate_seconds(ctx) -> int:
    return 28


def run(ctx):
    # 16 sign-ins (scrypt) open the run; the statistics restart after them (see the locustfile) and so does the
    # profile. The run is longer by the time the sign-ins take.
    result, _ = closed_loop(ctx, "home_page.py", "GET /", full_s=14, quick_s=14, profile_delay=8.0)
    return result
