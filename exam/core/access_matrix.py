"""Who may do what: the single written statement, one row per endpoint and method.

Each row names the personas that may use a route. ``tests/security/test_access_matrix.py`` checks that
- every registered route and method has a row here (a new route without a row fails the suite);
- every row agrees with the view's declared ``access`` (``exam.core.access``);
- the running app answers each persona as the row says.

Rows marked ``owned=True`` serve an object that belongs to one person (an attempt, a result, a training
record): the owner and the listed roles may see it, another examinee gets 404 (not 403: the object's existence
is not revealed). Each owned row needs a fixture in ``tests/<area>/owned_objects.py`` (see
``tests/security/owned.py``) that creates such an object for one examinee and returns its URL.

Adding a route: add a row in your area's section below, e.g.
``row("exams.attempt", "GET", SIGNED_IN, owned=True)`` or ``row("exams.manage", "GET", {LEGAL, ADMIN})``.
"""

from __future__ import annotations

from dataclasses import dataclass

from exam.core.access import EXAMINEE, PUBLIC

ANONYMOUS, LEGAL, HR, ADMIN = "anonymous", "legal", "hr", "admin"
PERSONAS = (ANONYMOUS, EXAMINEE, LEGAL, HR, ADMIN)
EVERYONE = frozenset(PERSONAS)
SIGNED_IN = frozenset({EXAMINEE, LEGAL, HR, ADMIN})


@dataclass(frozen=True)
class Row:
    endpoint: str
    method: str
    allowed: frozenset[str]
    owned: bool = False  # the object belongs to a person: other examinees get 404
    note: str = ""


def row(endpoint: str, methods: str, allowed, *, owned: bool = False, note: str = "") -> list[Row]:
    return [Row(endpoint, m, frozenset(allowed), owned, note) for m in methods.split()]


MATRIX_ROWS: list[Row] = [
    # --- framework ------------------------------------------------------------------------------------------
    *row("static", "GET", EVERYONE, note="the app's CSS, JS and fonts"),
    *row("bootstrap.static", "GET", EVERYONE),
    *row("api-docs.openapi_json", "GET", EVERYONE, note="the API description, no data"),
    *row("main.healthz", "GET", EVERYONE, note="monitoring; no private data"),
    # --- main -------------------------------------------------------------------------------------------------
    *row("main.index", "GET", SIGNED_IN),
    # --- accounts (sign-in, own account) ---------------------------------------------------------------------
    *row("accounts.login", "GET POST", EVERYONE),
    *row("accounts.set_language", "POST", EVERYONE),
    *row("accounts.logout", "POST", SIGNED_IN),
    *row("accounts.change_password", "GET POST", SIGNED_IN, note="only one's own password"),
    # --- accounts (staff administration: HR keeps the roster, admin the accounts) ----------------------------
    *row("accounts.users", "GET", {HR, ADMIN}),
    *row("accounts.user_new", "GET POST", {HR, ADMIN}, note="only admin assigns roles"),
    *row("accounts.user_edit", "GET POST", {HR, ADMIN}, note="only admin grants or removes admin"),
    *row("accounts.user_set_active", "POST", {HR, ADMIN}),
    *row("accounts.user_reset_password", "POST", {HR, ADMIN}, note="only admin resets an admin's password"),
    *row("accounts.departments", "GET", {HR, ADMIN}),
    *row("accounts.department_edit", "GET POST", {HR, ADMIN}),
    *row("accounts.roster_import", "GET POST", {HR, ADMIN}),
    *row("accounts.roster_template", "GET", {HR, ADMIN}),
    # --- admin ------------------------------------------------------------------------------------------------
    *row("admin.audit", "GET", {ADMIN}),
    *row("admin.settings", "GET POST", {ADMIN}, note="domain rule numbers"),
    # --- API: accounts ----------------------------------------------------------------------------------------
    *row("api_system.me", "GET", SIGNED_IN),
    *row("api_accounts.list_users", "GET", {HR, ADMIN}),
    *row("api_accounts.get_user", "GET", {HR, ADMIN}),
    *row("api_accounts.create_user", "POST", {ADMIN}),
    *row("api_accounts.list_departments", "GET", SIGNED_IN),
    # --- question bank (#3) -----------------------------------------------------------------------------------
    *row("api_questions.get_question", "GET", {LEGAL}),
    *row("api_questions.import_file", "POST", {LEGAL}),
    *row("api_questions.list_questions", "GET", {LEGAL}),
    *row("question_bank.bulk", "POST", {LEGAL}),
    *row("question_bank.categories", "GET", {LEGAL}),
    *row("question_bank.category_delete", "POST", {LEGAL}),
    *row("question_bank.category_edit", "GET POST", {LEGAL}),
    *row("question_bank.export", "GET", {LEGAL}),
    *row("question_bank.import_confirm", "POST", {LEGAL}),
    *row("question_bank.import_page", "GET POST", {LEGAL}),
    *row("question_bank.import_template", "GET", {LEGAL}),
    *row("question_bank.index", "GET", {LEGAL}),
    *row("question_bank.law_edit", "GET POST", {LEGAL}),
    *row("question_bank.laws", "GET", {LEGAL}),
    *row("question_bank.question_edit", "GET POST", {LEGAL}),
    *row("question_bank.question_new", "GET POST", {LEGAL}),
    *row("question_bank.question_preview", "GET", {LEGAL}),
    *row("question_bank.question_reviewed", "POST", {LEGAL}),
    *row("question_bank.question_status", "POST", {LEGAL}),
    *row("question_bank.question_view", "GET", {LEGAL}),
    # --- study bulletins (#5) ---------------------------------------------------------------------------------
    *row("api_study.confirm_bulletin", "POST", SIGNED_IN),
    *row("api_study.create_training_session", "POST", {HR, LEGAL}),
    *row("api_study.get_bulletin", "GET", SIGNED_IN),
    *row("api_study.list_bulletins", "GET", SIGNED_IN),
    *row("api_study.training_hours", "GET", SIGNED_IN, owned=True, note="self, legal, hr; others 404"),
    *row("study.confirm", "POST", SIGNED_IN),
    *row("study.delete", "POST", {LEGAL}),
    *row("study.edit", "GET POST", {LEGAL}),
    *row("study.hours_export", "GET", {HR, LEGAL}),
    *row("study.hours_report", "GET", {HR, LEGAL}),
    *row("study.index", "GET", SIGNED_IN),
    *row("study.manage", "GET", {LEGAL}),
    *row("study.original", "GET", SIGNED_IN),
    *row("study.original_inline", "GET", SIGNED_IN),
    *row("study.publish", "POST", {LEGAL}),
    *row("study.read", "GET", SIGNED_IN),
    *row("study.readers", "GET", {LEGAL}),
    *row("study.readers_export", "GET", {LEGAL}),
    *row("study.training", "GET", {HR, LEGAL}),
    *row("study.training_detail", "GET", {HR, LEGAL}),
    *row("study.training_new", "GET POST", {HR, LEGAL}),
    *row("study.training_template", "GET", {HR, LEGAL}),
    *row("study.withdraw", "POST", {LEGAL}),
    # --- exams (#4) -------------------------------------------------------------------------------------------
    *row("api_exams.create_exam", "POST", {LEGAL}),
    *row("api_exams.export_exam", "GET", {LEGAL}),
    *row("api_exams.extra_time", "POST", {LEGAL}),
    *row("api_exams.focus_event", "POST", SIGNED_IN, owned=True, note="the examinee's own attempt; others 404"),
    *row("api_exams.get_attempt", "GET", SIGNED_IN, owned=True, note="the examinee's own attempt; others 404"),
    *row("api_exams.list_attempts", "GET", {LEGAL}),
    *row("api_exams.publish_exam", "POST", {LEGAL}),
    *row("api_exams.save_item", "PUT", SIGNED_IN, owned=True, note="the examinee's own attempt; others 404"),
    *row("api_exams.start_attempt", "POST", SIGNED_IN),
    *row("api_exams.submit_attempt", "POST", SIGNED_IN, owned=True, note="the examinee's own attempt; others 404"),
    *row("exams.close", "POST", {LEGAL}),
    *row("exams.edit_exam", "GET POST", {LEGAL}),
    *row("exams.exam_detail", "GET", {LEGAL}),
    *row("exams.export_json", "GET", {LEGAL}),
    *row("exams.extra_time", "POST", {LEGAL}),
    *row("exams.grade", "POST", {LEGAL}),
    *row("exams.grading", "GET", {LEGAL}),
    *row("exams.live", "GET", {LEGAL}),
    *row("exams.manage", "GET", {LEGAL}),
    *row("exams.my_exams", "GET", SIGNED_IN),
    *row("exams.new_exam", "GET POST", {LEGAL}),
    *row("exams.practice", "GET", SIGNED_IN),
    *row("exams.practice_next", "GET", SIGNED_IN),
    *row("exams.practice_question", "GET POST", SIGNED_IN),
    *row("exams.publish", "POST", {LEGAL}),
    *row("exams.regrade", "GET POST", {LEGAL}),
    *row("exams.result", "GET", SIGNED_IN, owned=True, note="the examinee's own attempt; others 404"),
    *row("exams.save_form", "POST", SIGNED_IN, owned=True, note="the examinee's own attempt; others 404"),
    *row("exams.start", "POST", SIGNED_IN),
    *row("exams.take", "GET", SIGNED_IN, owned=True, note="the examinee's own attempt; others 404"),
    *row("exams.wrong_answers", "GET", SIGNED_IN),
    # --- certificates -----------------------------------------------------------------------------------------
    *row("certificates.mine", "GET", SIGNED_IN, note="only one's own certificates"),
    *row("certificates.manage", "GET", {HR}),
    *row("certificates.apply", "GET POST", {HR}),
    *row("certificates.issue", "POST", {HR}),
    *row("certificates.detail", "GET", {HR}),
    *row("certificates.change_status", "POST", {HR}),
    *row("certificates.renew", "POST", {HR}),
    *row("certificates.card", "GET", {HR}),
    *row("certificates.upload_photo", "POST", {HR}),
    *row("certificates.photo", "GET", SIGNED_IN, owned=True, note="the holder and HR"),
    *row("certificates.hr_lists", "GET POST", {HR}),
    *row("certificates.printed_list", "GET", {HR}),
    *row("certificates.review", "GET POST", {HR}),
    *row("certificates.categories", "GET POST", {ADMIN}),
    *row("certificates.verify", "GET", EVERYONE, note="public verification by QR token (rate limited)"),
    *row("certificates.verify_number", "GET POST", EVERYONE, note="public verification by number (rate limited)"),
    *row("certificates.officers", "GET", EVERYONE, note="public list of certified officers"),
    *row("api_certificates.eligibility", "GET", SIGNED_IN, note="self, hr, legal; others 404"),
    *row("api_certificates.issue", "POST", {HR}),
    *row("api_certificates.get_certificate", "GET", {HR}),
    *row("api_certificates.change_status", "POST", {HR}),
    *row("api_certificates.verify", "GET", EVERYONE, note="public verification (rate limited)"),
    # --- reports ----------------------------------------------------------------------------------------------
    *row("reports.index", "GET", {LEGAL, HR}),
    *row("reports.index_export", "GET", {LEGAL, HR}),
    *row("reports.exam", "GET", {LEGAL, HR}),
    *row("reports.exam_export", "GET", {LEGAL, HR}),
    *row("reports.exam_pdf", "GET", {LEGAL, HR}),
    *row("reports.compliance", "GET", {LEGAL, HR}),
    *row("reports.compliance_export", "GET", {LEGAL, HR}),
    *row("reports.annual", "GET", {LEGAL, HR}),
    *row("reports.annual_export", "GET", {LEGAL, HR}),
    *row("reports.annual_pdf", "GET", {LEGAL, HR}),
    *row("reports.annual_records", "GET", {LEGAL, HR}),
    *row("reports.annual_records_export", "GET", {LEGAL, HR}),
    *row("api_reports.exam_stats", "GET", {LEGAL, HR}),
    *row("api_reports.annual", "GET", {LEGAL, HR}),
]


def _index(rows: list[Row]) -> dict[tuple[str, str], Row]:
    index: dict[tuple[str, str], Row] = {}
    for r in rows:
        key = (r.endpoint, r.method)
        if key in index:
            raise ValueError(f"access matrix lists {key} twice")
        unknown = r.allowed - EVERYONE
        if unknown:
            raise ValueError(f"access matrix row {key} names unknown personas {unknown}")
        index[key] = r
    return index


MATRIX: dict[tuple[str, str], Row] = _index(MATRIX_ROWS)


def personas_for_access(access: frozenset[str]) -> frozenset[str]:
    """What a view's ``access`` declaration means in personas."""
    if PUBLIC in access:
        return EVERYONE
    if EXAMINEE in access:
        return SIGNED_IN
    return frozenset(access)
