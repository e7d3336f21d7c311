"""GET / for a signed-in examinee (session cookie, user loaded from the database, page rendered)."""

from bench.scenarios._http import check_tool, closed_loop

NAME = "home_page"
TITLE = "Home page signed in"


def available(app):
    return check_tool()


def estimate_seconds(ctx) -> int:
    return 20


def session_cookies(app, usernames: list[str]) -> list[str]:
    """Signed session cookies as the sign-in form would set them (flask-login's ``_user_id``), made with the app's
    own session serializer: the scenario measures the signed-in page, not scrypt (login_form does that)."""
    from sqlalchemy import select

    from exam.accounts.models import User
    from exam.extensions import db

    with app.app_context():
        users = db.session.execute(select(User.username, User.id, User.session_version)
                                   .where(User.username.in_(usernames))).all()
        db.engine.dispose()
    serializer = app.session_interface.get_signing_serializer(app)
    name = app.config["SESSION_COOKIE_NAME"]
    return [f"{name}={serializer.dumps({'_user_id': f'{uid}:{version}', '_fresh': True})}"
            for _username, uid, version in users]


def run(ctx):
    from bench.context import HTTP_USERS

    cookies = ctx.work_dir / "sessions.txt"
    cookies.write_text("\n".join(session_cookies(ctx.app, ctx.usernames[:HTTP_USERS])) + "\n")
    result, _ = closed_loop(ctx, "home_page.py", "GET /", env={"BENCH_SESSIONS_FILE": str(cookies)})
    return result
