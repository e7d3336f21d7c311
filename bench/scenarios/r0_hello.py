"""R0: a hello-world route (bench/wsgi_bench.py) under the production server; every HTTP ratio divides by it."""

from bench.scenarios._http import check_tool, closed_loop

NAME = "r0_hello"
TITLE = "R0: hello world under gunicorn (2 workers x 8 threads)"


def available(app):
    return check_tool()


def estimate_seconds(ctx) -> int:
    return 11  # measured run and locust's start-up, no profile


def run(ctx):
    result, _ = closed_loop(ctx, "hello.py", "GET /bench/hello", profile=False)
    ctx.r0 = result["rows"][0]
    ctx.r0["ratio_to_r0"] = 1.0
    return result
