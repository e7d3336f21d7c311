"""The product app plus one hello-world route: the R0 baseline under the very same server and settings.

Served by ``gunicorn --config python:exam.gunicorn_conf bench.wsgi_bench:app``. The route is added here, never in
the product app, and answers a constant text so every cost above it (hooks, sessions, the database) shows in the
other scenarios as a ratio.
"""

from exam import create_app
from exam.core.access import public

app = create_app()


@public
def bench_hello():
    return "hello"


app.add_url_rule("/bench/hello", "bench_hello", bench_hello)
