"""``flask --app wsgi ...`` commands. Each command is one transaction: it commits once at the end."""

from __future__ import annotations

import random
import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from exam.extensions import db

users_cli = AppGroup("users", help="Staff accounts.")
audit_cli = AppGroup("audit", help="The audit log.")

# Each seeder adds one area's demo data; later areas build on earlier ones.
SEEDERS = [
    "exam.accounts.seed",
    "exam.exams.seed",
]


def _fail(message: str) -> None:
    db.session.rollback()
    click.echo(message, err=True)
    sys.exit(1)


@users_cli.command("create")
@click.argument("username")
@click.option("--name", required=True)
@click.option("--department", "department_path", default=None, help="Name or path; created if missing.")
@click.option("--role", "roles", multiple=True, type=click.Choice(["legal", "hr", "admin", "examinee"]))
@click.option("--post", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(username, name, department_path, roles, post, password_stdin):
    """Create a user; prints the password when it was generated."""
    from exam.accounts import operations as ops
    from exam.core.errors import DomainError

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        department = ops.ensure_department(department_path) if department_path else None
        user, password_used = ops.create_user(
            ops.UserData(username=username, name=name, department=department, post=post,
                         roles=set(roles) - {"examinee"}),
            password=password,
            must_change=not password_stdin,
        )
    except DomainError as exc:
        _fail(exc.message)
    db.session.commit()
    click.echo(f"created {user.username} ({', '.join(sorted(user.roles))})")
    if not password_stdin:
        click.echo(f"initial password: {password_used}")


@users_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--create-departments", is_flag=True, help="Create departments named in the file that do not exist.")
def users_import(path, create_departments):
    """Import a staff roster (.xlsx). Nothing is imported when any row is bad."""
    from exam.accounts.roster import import_roster
    from exam.core import audit
    from exam.core.errors import ImportRejected

    with open(path, "rb") as fh:
        data = fh.read()
    try:
        result = import_roster(data, importer=None, create_departments=create_departments)
    except ImportRejected as exc:
        for detail in exc.details:
            click.echo(detail["message"], err=True)
        _fail(exc.message)
    audit.record("roster.import", None, actor_username="cli",
                 after={"created": len(result.created), "updated": len(result.updated)})
    db.session.commit()
    click.echo(f"created {len(result.created)}, updated {len(result.updated)}, unchanged {result.unchanged}")
    for user, password in result.created:
        click.echo(f"{user.username}\t{user.name}\t{password}")


@users_cli.command("token")
@click.argument("username")
def users_token(username):
    """Issue a new API token; the token is the last line printed."""
    from exam.accounts.models import user_by_username
    from exam.accounts.operations import issue_token

    user = user_by_username(username)
    if user is None:
        _fail(f"no such user: {username}")
    token = issue_token(user)
    db.session.commit()
    click.echo(f"API token for {user.username} (shown once):")
    click.echo(token)


@audit_cli.command("verify")
def audit_verify():
    """Check the hash chain of the audit log; names the first broken row."""
    from exam.core.audit import verify_chain

    checked, broken = verify_chain()
    if broken is not None:
        click.echo(f"BROKEN at audit row {broken.id} ({broken.action}, {broken.at}); "
                   f"{checked} rows before it are intact")
        sys.exit(1)
    click.echo(f"audit chain intact: {checked} rows")


@click.command("seed-demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
@click.option("--seed", "rng_seed", default=2026, show_default=True)
def seed_demo(if_empty, rng_seed):
    """Fill an empty database with a believable bureau (departments, staff, accounts for each role)."""
    import importlib

    from exam.accounts.models import User

    if db.session.scalar(select(func.count()).select_from(User)):
        if if_empty:
            click.echo("database already has data; demo seed skipped")
            return
        _fail("the database is not empty; seed-demo only fills an empty database")
    rng = random.Random(rng_seed)
    lines: list[str] = []
    for name in SEEDERS:
        module = importlib.import_module(name)
        lines.extend(module.seed(rng) or [])
    db.session.commit()
    current_app.logger.info("demo data created")
    for line in lines:
        click.echo(line)


i18n_cli = AppGroup("i18n", help="Message catalogues.")


@i18n_cli.command("update")
def i18n_update():
    """Extract source strings and merge them into each package's zh catalogue."""
    from exam.i18n import update

    for line in update():
        click.echo(line)


@i18n_cli.command("compile")
def i18n_compile():
    """Compile changed catalogues to .mo files."""
    from exam.i18n import compile_all

    for line in compile_all():
        click.echo(f"compiled {line}")


# --- exams -----------------------------------------------------------------------------------------------

exams_cli = AppGroup("exams", help="Exams and attempts.")


@exams_cli.command("finalize-expired")
def exams_finalize_expired():
    """Finish every attempt past its deadline (and grace) with its saved answers (run from cron)."""
    from exam.exams.operations import finalize_expired

    count = finalize_expired()
    db.session.commit()
    click.echo(f"finished {count} attempt(s) past their deadline")


@exams_cli.command("rebuild-paper")
@click.argument("attempt_id", type=int)
def exams_rebuild_paper(attempt_id):
    """Draw an attempt's paper again from its seed and show that it matches the stored one (for appeals)."""
    from exam.exams.models import Attempt
    from exam.exams.operations import rebuild_paper

    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        _fail(f"no such attempt: {attempt_id}")
    result = rebuild_paper(attempt)
    click.echo(f"attempt {attempt.id} of exam {attempt.exam_id} ({attempt.exam.title}), user {attempt.user.username}, "
               f"seed {attempt.seed}, started {attempt.started_at:%Y-%m-%d %H:%M:%S} UTC")
    stored = {i.position: i for i in attempt.items}
    for item in result.items:
        old = stored.get(item.position)
        same = old is not None and (old.question_id, old.question_version_id, list(old.option_order or [])) == (
            item.question_id, item.version.id, item.option_order)
        click.echo(f"  {item.position:>3}  question {item.question_id:>6} v{item.version.number} "
                   f"options {''.join(item.option_order) or '-':<8} {'=' if same else 'DIFFERS'}")
    db.session.rollback()
    if not result.matches:
        for line in result.differences:
            click.echo(f"DIFFERENCE: {line}", err=True)
        click.echo("the rebuilt paper does NOT match the stored paper")
        sys.exit(1)
    click.echo(f"the rebuilt paper matches the stored paper ({len(result.items)} items)")


def register_cli(app) -> None:
    app.cli.add_command(i18n_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(exams_cli)
