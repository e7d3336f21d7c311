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
    # --- API: accounts ----------------------------------------------------------------------------------------
    *row("api_system.me", "GET", SIGNED_IN),
    *row("api_accounts.list_users", "GET", {HR, ADMIN}),
    *row("api_accounts.get_user", "GET", {HR, ADMIN}),
    *row("api_accounts.create_user", "POST", {ADMIN}),
    *row("api_accounts.list_departments", "GET", SIGNED_IN),
    # --- question bank (#3) -----------------------------------------------------------------------------------
    # --- study bulletins (#5) ---------------------------------------------------------------------------------
    # --- exams (#4) -------------------------------------------------------------------------------------------
    # --- certificates -----------------------------------------------------------------------------------------
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
