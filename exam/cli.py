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
    "question_bank.seed",
    "exam.study.seed",
    "exam.exams.seed",
    "exam.certificates.seed",
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
    from exam.core.audit import check_chain

    result = check_chain()
    broken = result.broken
    if broken is not None:
        click.echo(f"BROKEN at audit row {broken.id} ({broken.action}, {broken.at}): {result.reason}; "
                   f"{result.checked} rows before it are intact")
        sys.exit(1)
    click.echo(f"audit chain intact: {result.checked} rows")


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


# --- certificates ---------------------------------------------------------------------------------------

certificates_cli = AppGroup("certificates", help="Enforcement certificates.")


@certificates_cli.command("category")
@click.argument("name")
@click.option("--code", default=None, help="Short code used in certificate numbers.")
@click.option("--validity-years", type=int, default=None)
@click.option("--area", default=None, help="Default enforcement area.")
@click.option("--source-of-power", default=None, help="Default source of power.")
@click.option("--qualification-subject", "qualification", multiple=True,
              help="A qualification exam subject required (repeat for two exams).")
@click.option("--renewal-subject", "renewal", multiple=True, help="A renewal exam subject required.")
def certificates_category(name, code, validity_years, area, source_of_power, qualification, renewal):
    """Create or update an enforcement category."""
    from exam.certificates import operations as ops
    from exam.core.errors import DomainError

    try:
        category = ops.ensure_category(name, code=code, validity_years=validity_years, area=area,
                                       source_of_power=source_of_power)
        if qualification:
            ops.set_requirements(category, "qualification", list(qualification))
        if renewal:
            ops.set_requirements(category, "renewal", list(renewal))
    except DomainError as exc:
        _fail(exc.message)
    db.session.commit()
    click.echo(f"category {category.name} ({category.code}), validity {ops.validity_years(category)} years")


@certificates_cli.command("eligibility")
@click.option("--list", "kind", required=True,
              type=click.Choice(["issue", "renewal", "review", "expiring", "valid", "ineligible"]))
@click.option("--category", "category_name", default=None)
@click.option("--year", type=int, default=None, help="For the annual review list.")
@click.option("--format", "fmt", type=click.Choice(["pdf", "xlsx"]), default="pdf")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True))
@click.option("--by", "by_username", default=None, help="Staff number recorded as the printer (default: an hr user).")
def certificates_eligibility(kind, category_name, year, fmt, output, by_username):
    """Print an HR list (kept, with serial number and hash) as PDF or Excel."""
    from exam.accounts.models import User, UserRole, user_by_username
    from exam.certificates import lists, printing
    from exam.certificates.models import EnforcementCategory
    from exam.core.errors import DomainError

    category = None
    if category_name:
        category = db.session.scalar(select(EnforcementCategory).where(EnforcementCategory.name == category_name))
        if category is None:
            _fail(f"unknown category: {category_name}")
    by = user_by_username(by_username) if by_username else db.session.scalar(
        select(User).join(UserRole).where(UserRole.role == "hr").order_by(User.id).limit(1))
    if by is None:
        _fail("no printer: pass --by USERNAME")
    try:
        printed = lists.print_list(kind, category, by=by, year=year)
    except DomainError as exc:
        _fail(exc.message)
    data = lists.list_xlsx(printed) if fmt == "xlsx" else printing.list_pdf(printed)
    db.session.commit()
    with open(output, "wb") as fh:
        fh.write(data)
    click.echo(f"{printed.serial}: {printed.title}, {len(printed.rows)} rows -> {output}")


@certificates_cli.command("expire")
def certificates_expire():
    """Mark certificates past their validity as expired (run daily)."""
    from exam.certificates.operations import expire_certificates

    count = expire_certificates()
    db.session.commit()
    click.echo(f"{count} certificates expired")


# --- question bank ------------------------------------------------------------------------------------

questions_cli = AppGroup("questions", help="The question bank: import and export.")


@questions_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "gift", "aiken"]), default=None,
              help="Default: from the file name and content.")
@click.option("--category", "category_path", default="",
              help="Category for questions that name none, e.g. 公共法律知识/行政处罚.")
@click.option("--dry-run", is_flag=True, help="Check the file and report; import nothing.")
@click.option("--update", is_flag=True,
              help="Save questions already in the bank as a new version instead of skipping them.")
def questions_import(path, fmt, category_path, dry_run, update):
    """Import questions (Excel, CSV, GIFT, Aiken). Nothing is imported when any question is bad."""
    from exam.core.errors import ImportRejected
    from question_bank.importer import import_questions

    with open(path, "rb") as fh:
        data = fh.read()
    try:
        report = import_questions(data, path, fmt=fmt, category_path=category_path, update=update,
                                  dry_run=dry_run)
    except ImportRejected as exc:
        for detail in exc.details:
            click.echo(detail["message"], err=True)
        _fail(exc.message)
    for duplicate in report.duplicates:
        click.echo(duplicate["message"])
    if dry_run:
        db.session.rollback()
        click.echo(f"dry run: would import {report.imported}, update {report.updated}, "
                   f"duplicates {len(report.duplicates)}")
        return
    db.session.commit()
    click.echo(f"imported {report.imported}, updated {report.updated}, duplicates {len(report.duplicates)}")


@questions_cli.command("export")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True))
@click.option("--format", "fmt", type=click.Choice(["xlsx", "gift"]), default=None,
              help="Default: from the output file name.")
@click.option("--category", "category_path", default=None, help="Only this category (and its subcategories).")
@click.option("--type", "qtype", type=click.Choice(["single", "multiple", "true_false", "fill_blank",
                                                    "case_analysis"]), default=None)
@click.option("--law", "law_name", default=None)
@click.option("--tag", "tag_name", default=None)
@click.option("--status", type=click.Choice(["draft", "active", "retired"]), default=None)
def questions_export(output, fmt, category_path, qtype, law_name, tag_name, status):
    """Export questions to the Excel template or GIFT."""
    from question_bank import operations as ops
    from question_bank.importer import export_questions, load_for_export
    from question_bank.models import Tag

    fmt = fmt or ("gift" if output.lower().endswith((".gift", ".txt")) else "xlsx")
    f = ops.QuestionFilter(type=qtype, status=status)
    if category_path:
        category = ops.find_category(category_path)
        if category is None:
            _fail(f"no such category: {category_path}")
        f.category_id = category.id
    if law_name:
        law = ops.find_law(law_name)
        if law is None:
            _fail(f"no such law: {law_name}")
        f.law_id = law.id
    if tag_name:
        tag = db.session.scalar(select(Tag).where(Tag.name == tag_name))
        if tag is None:
            _fail(f"no such tag: {tag_name}")
        f.tag_id = tag.id
    questions = load_for_export(ops.filtered_questions(f).order_by(None).order_by(ops.Question.id))
    with open(output, "wb") as fh:
        fh.write(export_questions(questions, fmt))
    click.echo(f"exported {len(questions)} questions to {output}")


# --- backup and restore ------------------------------------------------------------------------------------

@click.command("backup")
@with_appcontext
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The backup file to write.")
def backup_command(output):
    """Back up the whole database (SQLite online backup; pg_dump for PostgreSQL)."""
    from exam.core import audit
    from exam.core.backup import BackupError, backup

    try:
        result = backup(output)
    except (BackupError, OSError) as exc:
        _fail(f"backup failed: {exc}")
    audit.record("backup.create", None, actor_username="cli", after={"file": str(result.path), "size": result.size})
    db.session.commit()
    click.echo(result.describe())


@click.command("restore")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(path, yes):
    """Replace the whole database with a backup. Stop the server first."""
    import sqlite3

    from exam.core import audit
    from exam.core.backup import BackupError, restore

    if not yes:
        click.confirm(f"Replace the database {db.engine.url.render_as_string()} with {path}?", abort=True)
    try:
        result = restore(path)
    except (BackupError, OSError, sqlite3.Error) as exc:
        _fail(f"restore failed: {exc}")
    audit.record("backup.restore", None, actor_username="cli", after={"file": str(result.path)})
    db.session.commit()
    click.echo(result.describe())


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


reports_cli = AppGroup("reports", help="Reports.")


@reports_cli.command("rebuild-item-stats")
@click.option("--exam", "exam_ids", type=int, multiple=True, help="only this exam (repeat for more)")
def reports_rebuild_item_stats(exam_ids):
    """Recompute the kept report aggregates (exam results, item sums) from the raw attempts."""
    from exam.reports.item_stats import rebuild

    count = rebuild(list(exam_ids) or None)
    db.session.commit()
    click.echo(f"rebuilt the report aggregates of {count} exam(s)")


def register_cli(app) -> None:
    app.cli.add_command(reports_cli)
    app.cli.add_command(certificates_cli)
    app.cli.add_command(i18n_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(questions_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(exams_cli)
