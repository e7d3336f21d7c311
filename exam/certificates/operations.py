"""Certificate rules: eligibility, issue, renewal, annual review, status changes, numbering, expiry.

Operations flush but never commit. Eligibility is computed in bulk (a few queries for any number of people)
and the same function serves pages, printed lists, the API and the issuing transaction.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import date

from dateutil.relativedelta import relativedelta
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from exam.accounts.models import EMPLOYMENT_STATUSES, User
from exam.certificates import sources
from exam.certificates.models import (
    HELD_STATUSES,
    STATUSES,
    TRANSITIONS,
    CategoryRequirement,
    Certificate,
    CertificateBasis,
    CertificateCounter,
    EnforcementCategory,
    HolderPhoto,
    new_token,
)
from exam.core import audit
from exam.core.errors import Conflict, DomainError, NotFound
from exam.core.settings import setting
from exam.core.signals import employment_changed
from exam.core.timeutil import local_today, utcnow
from exam.extensions import db


class EligibilityError(DomainError):
    code = "not_eligible"


class CertificateError(DomainError):
    code = "certificate_error"


@dataclass
class Reason:
    code: str
    message: str
    data: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, **({"data": self.data} if self.data else {})}


@dataclass
class Eligibility:
    user: User
    reasons: list[Reason] = field(default_factory=list)
    results: list[sources.ExamResult] = field(default_factory=list)  # the passed attempts it rests on
    hours: float = 0.0

    @property
    def eligible(self) -> bool:
        return not self.reasons


# --- categories ----------------------------------------------------------------------------------------

def ensure_category(name: str, *, code: str | None = None, validity_years: int | None = None,
                    area: str | None = None, source_of_power: str | None = None) -> EnforcementCategory:
    name = name.strip()
    if not name:
        raise CertificateError(_("A category needs a name."))
    category = db.session.scalar(select(EnforcementCategory).where(EnforcementCategory.name == name))
    before = None
    if category is None:
        count = db.session.scalar(select(func.count()).select_from(EnforcementCategory))
        category = EnforcementCategory(name=name, code=(code or f"C{count + 1:02d}").strip().upper())
        category.requirements = [CategoryRequirement(purpose="qualification", subject=""),
                                 CategoryRequirement(purpose="renewal", subject="")]
        db.session.add(category)
    else:
        before = {"code": category.code, "validity_years": category.validity_years}
        if code:
            category.code = code.strip().upper()
    if validity_years is not None:
        if not 1 <= validity_years <= 20:
            raise CertificateError(_("Validity must be between 1 and 20 years."))
        category.validity_years = validity_years
    if area is not None:
        category.default_area = area
    if source_of_power is not None:
        category.default_source_of_power = source_of_power
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict(_("The category code %(code)s is already used.", code=category.code)) from exc
    audit.record("certificate_category.save", category, before=before,
                 after={"name": category.name, "code": category.code, "validity_years": category.validity_years})
    return category


def set_requirements(category: EnforcementCategory, purpose: str, subjects: list[str]) -> None:
    """The exams of ``purpose`` a person must have passed: one per subject ("" = any exam of the category)."""
    subjects = list(dict.fromkeys(s.strip() for s in subjects)) or [""]
    before = sorted(r.subject for r in category.requirements if r.purpose == purpose)
    # Keep rows that stay (the unit of work inserts before it deletes, and the triple is unique).
    kept = [r for r in category.requirements if r.purpose != purpose or r.subject in subjects]
    present = {r.subject for r in kept if r.purpose == purpose}
    category.requirements = kept + [CategoryRequirement(purpose=purpose, subject=s) for s in subjects
                                    if s not in present]
    db.session.flush()
    audit.record("certificate_category.requirements", category, before={purpose: before}, after={purpose: subjects})


def validity_years(category: EnforcementCategory) -> int:
    return category.validity_years or int(setting("CERT_VALIDITY_YEARS"))


# --- eligibility ---------------------------------------------------------------------------------------

def _held(user_ids: list[int], category_id: int) -> dict[int, Certificate]:
    rows = db.session.scalars(
        select(Certificate).where(
            Certificate.holder_id.in_(user_ids),
            Certificate.category_id == category_id,
            Certificate.status.in_(HELD_STATUSES),
        )
    )
    return {c.holder_id: c for c in rows}


def _recent_revocations(user_ids: list[int], as_of: date) -> dict[int, date]:
    since = as_of - relativedelta(years=int(setting("CERT_REVOCATION_COOLOFF_YEARS")))
    rows = db.session.execute(
        select(Certificate.holder_id, func.max(Certificate.status_effective_on))
        .where(Certificate.holder_id.in_(user_ids), Certificate.status == "revoked",
               Certificate.status_effective_on > since)
        .group_by(Certificate.holder_id)
    )
    return dict(rows.all())


def _requirement_label(requirement: CategoryRequirement) -> str:
    return requirement.subject or requirement.category.name


def check_eligibility(users: list[User], category: EnforcementCategory, as_of: date | None = None,
                      *, purpose: str = "qualification") -> dict[int, Eligibility]:
    """Every reason each person may not be issued a certificate of ``category`` (empty list: eligible).

    A fixed number of queries whatever the number of people.
    """
    as_of = as_of or local_today()
    user_ids = [u.id for u in users]
    result = {u.id: Eligibility(user=u) for u in users}
    if not users:
        return result
    fresh_since = as_of - relativedelta(months=int(setting("CERT_RESULT_FRESH_MONTHS")))
    required_hours = float(setting("STUDY_REQUIRED_HOURS"))
    hours = sources.training_hours(user_ids, as_of - relativedelta(months=12), as_of)
    unconfirmed = sources.unconfirmed_required_bulletins(user_ids, as_of)
    revoked = _recent_revocations(user_ids, as_of)
    held = _held(user_ids, category.id)
    requirements = [r for r in category.requirements if r.purpose == purpose]
    passed = sources.passed_results(user_ids, purpose=purpose, category_name=category.name, since=fresh_since,
                                    until=as_of)

    for user in users:
        item = result[user.id]
        if user.employment_status != "active":
            item.reasons.append(Reason("not_employed", _("Not employed on staff (%(status)s)",
                                       status=EMPLOYMENT_STATUSES.get(user.employment_status)),
                                       {"status": user.employment_status}))
        for requirement in requirements:
            match = sources.best_match(passed.get(user.id, []), requirement.subject)
            if match is None:
                item.reasons.append(Reason(
                    "no_passed_exam",
                    _("No passed %(purpose)s exam (%(subject)s) in the last %(months)d months",
                      purpose=sources.purpose_label(purpose), subject=_requirement_label(requirement),
                      months=int(setting("CERT_RESULT_FRESH_MONTHS"))),
                    {"purpose": purpose, "subject": requirement.subject},
                ))
            else:
                item.results.append(match)
        item.hours = hours.get(user.id, 0.0)
        if item.hours + 1e-9 < required_hours:
            item.reasons.append(Reason("hours_short", _("Training hours short %(have)s/%(need)s",
                                       have=_fmt_hours(item.hours), need=_fmt_hours(required_hours)),
                                       {"have": item.hours, "need": required_hours}))
        if unconfirmed.get(user.id):
            labels = unconfirmed[user.id]
            item.reasons.append(Reason("bulletins_unconfirmed",
                                       _("Required bulletins not confirmed: %(list)s", list="、".join(labels)),
                                       {"bulletins": labels}))
        if user.id in revoked:
            item.reasons.append(Reason("revoked_recently",
                                       _("Certificate revoked on %(day)s; no new certificate for %(years)d years",
                                         day=revoked[user.id].isoformat(),
                                         years=int(setting("CERT_REVOCATION_COOLOFF_YEARS"))),
                                       {"revoked_on": revoked[user.id].isoformat()}))
        if purpose == "qualification" and user.id in held:
            cert = held[user.id]
            item.reasons.append(Reason("already_holds", _("Already holds certificate %(number)s of %(category)s "
                                                          "(%(status)s)", number=cert.number,
                                                          category=category.name, status=cert.status_label),
                                       {"number": cert.number}))
    return result


def _fmt_hours(value: float) -> str:
    return f"{value:g}"


# --- numbering -----------------------------------------------------------------------------------------

def allocate_number(category: EnforcementCategory, year: int) -> str:
    """The next free number: an atomic counter increment, retried past numbers already taken."""
    exists = db.session.scalar(select(func.count()).select_from(CertificateCounter).where(
        CertificateCounter.category_id == category.id, CertificateCounter.year == year))
    if not exists:
        try:
            with db.session.begin_nested():
                db.session.execute(insert(CertificateCounter).values(category_id=category.id, year=year, last_seq=0))
        except IntegrityError:
            pass  # another transaction created it first; the UPDATE below queues behind it
    pattern = str(setting("CERT_NUMBER_PATTERN"))
    for _attempt in range(1000):
        seq = db.session.execute(
            update(CertificateCounter)
            .where(CertificateCounter.category_id == category.id, CertificateCounter.year == year)
            .values(last_seq=CertificateCounter.last_seq + 1)
            .returning(CertificateCounter.last_seq)
        ).scalar_one()
        try:
            number = pattern.format(code=category.code, year=year, seq=seq)
        except (KeyError, IndexError, ValueError) as exc:
            raise CertificateError(_("The certificate number pattern is invalid.")) from exc
        taken = db.session.scalar(select(func.count()).select_from(Certificate).where(Certificate.number == number))
        if not taken:
            return number
    raise CertificateError(_("No free certificate number could be found; check the number pattern."))


# --- issue, renew, status ------------------------------------------------------------------------------

def _lock_person(user: User) -> None:
    """Serialise certificate actions for one person (PostgreSQL row lock; SQLite writes are serial)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(User.id).where(User.id == user.id).with_for_update())


def issue_certificate(user: User, category: EnforcementCategory, *, area: str | None = None,
                      source_of_power: str | None = None, enforcement_body: str | None = None,
                      issued_by: User | None = None, as_of: date | None = None) -> Certificate:
    """Issue after re-checking eligibility inside this transaction; refuses with every reason."""
    as_of = as_of or local_today()
    _lock_person(user)
    verdict = check_eligibility([user], category, as_of)[user.id]
    if not verdict.eligible:
        raise EligibilityError(
            _("%(name)s is not eligible: %(reasons)s", name=user.name,
              reasons=";".join(r.message for r in verdict.reasons)),
            details=[r.as_dict() for r in verdict.reasons],
        )
    area = (area or category.default_area or "").strip()
    source_of_power = (source_of_power or category.default_source_of_power or "").strip()
    if not area or not source_of_power:
        raise CertificateError(_("The enforcement area and the source of power are required."))
    cert = Certificate(
        number=allocate_number(category, as_of.year),
        holder=user,
        category=category,
        enforcement_body=(enforcement_body or str(setting("CERT_ENFORCEMENT_BODY"))).strip(),
        area=area,
        source_of_power=source_of_power,
        issued_on=as_of,
        valid_until=as_of + relativedelta(years=validity_years(category)) - relativedelta(days=1),
        status="valid",
        issued_by_id=getattr(issued_by, "id", None),
    )
    cert.bases = [CertificateBasis(attempt_id=r.attempt_id, exam_title=r.exam_title, score=r.score,
                                   finished_at=r.finished_at) for r in verdict.results]
    db.session.add(cert)
    _flush_certificate()
    audit.record("certificate.issue", cert, actor=issued_by,
                 after=_snapshot(cert) | {"attempts": [r.attempt_id for r in verdict.results]})
    return cert


def _flush_certificate() -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        # The database's own guard: one held certificate per person and category, unique numbers.
        raise Conflict(_("The person already holds a certificate of this category, or the number is taken. "
                         "Nothing was issued.")) from exc


def _snapshot(cert: Certificate) -> dict:
    return {"number": cert.number, "holder": cert.holder.username, "category": cert.category.name,
            "status": cert.status, "issued_on": cert.issued_on.isoformat(),
            "valid_until": cert.valid_until.isoformat(), "area": cert.area}


def renewal_opens_on(cert: Certificate) -> date:
    return cert.valid_until - relativedelta(months=int(setting("CERT_RENEWAL_WINDOW_MONTHS")))


def renewal_check(certs: list[Certificate], as_of: date | None = None) -> dict[int, list[Reason]]:
    """Reasons each certificate cannot be renewed now (empty: it can)."""
    as_of = as_of or local_today()
    out: dict[int, list[Reason]] = {c.id: [] for c in certs}
    by_category: dict[int, list[Certificate]] = {}
    for cert in certs:
        by_category.setdefault(cert.category_id, []).append(cert)
    for group in by_category.values():
        category = group[0].category
        earliest = min(renewal_opens_on(c) for c in group)
        passed = sources.passed_results([c.holder_id for c in group], purpose="renewal", category_name=category.name,
                                        since=earliest, until=as_of)
        requirements = [r for r in category.requirements if r.purpose == "renewal"] or [
            CategoryRequirement(purpose="renewal", subject="")]
        for cert in group:
            reasons = out[cert.id]
            opens = renewal_opens_on(cert)
            if cert.status not in HELD_STATUSES:
                reasons.append(Reason("not_held", _("The certificate is %(status)s.", status=cert.status_label)))
            if as_of < opens:
                reasons.append(Reason("renewal_not_open", _("Renewal opens on %(day)s", day=opens.isoformat())))
            if as_of > cert.valid_until:
                reasons.append(Reason("expired", _("The certificate expired on %(day)s; apply for a new one",
                                                   day=cert.valid_until.isoformat())))
            if cert.holder.employment_status != "active":
                reasons.append(Reason("not_employed", _("Not employed on staff (%(status)s)",
                                      status=EMPLOYMENT_STATUSES.get(cert.holder.employment_status))))
            results = [r for r in passed.get(cert.holder_id, []) if r.finished_at and r.finished_at.date() >= opens]
            for requirement in requirements:
                if sources.best_match(results, requirement.subject) is None:
                    reasons.append(Reason("no_renewal_exam", _("No passed renewal exam (%(subject)s) since %(day)s",
                                          subject=_requirement_label(requirement) if requirement.category_id
                                          else category.name, day=opens.isoformat())))
    return out


def renew_certificate(cert: Certificate, *, renewed_by: User | None = None, as_of: date | None = None) -> Certificate:
    """换证: a new certificate replaces the old one, which is cancelled; one transaction."""
    as_of = as_of or local_today()
    _lock_person(cert.holder)
    reasons = renewal_check([cert], as_of)[cert.id]
    if reasons:
        raise EligibilityError(_("Cannot renew %(number)s: %(reasons)s", number=cert.number,
                                 reasons=";".join(r.message for r in reasons)),
                               details=[r.as_dict() for r in reasons])
    category = cert.category
    opens = renewal_opens_on(cert)
    passed = sources.passed_results([cert.holder_id], purpose="renewal", category_name=category.name,
                                    since=opens, until=as_of).get(cert.holder_id, [])
    _set_status(cert, "cancelled", _("Replaced by renewal"), as_of, renewed_by)
    db.session.flush()
    new = Certificate(
        number=allocate_number(category, as_of.year),
        holder=cert.holder,
        category=category,
        enforcement_body=cert.enforcement_body,
        area=cert.area,
        source_of_power=cert.source_of_power,
        issued_on=as_of,
        valid_until=max(as_of, cert.valid_until) + relativedelta(years=validity_years(category)),
        status="valid",
        replaces=cert,
        issued_by_id=getattr(renewed_by, "id", None),
    )
    new.bases = [CertificateBasis(attempt_id=r.attempt_id, exam_title=r.exam_title, score=r.score,
                                  finished_at=r.finished_at) for r in passed]
    db.session.add(new)
    _flush_certificate()
    audit.record("certificate.renew", new, actor=renewed_by, before=_snapshot(cert), after=_snapshot(new))
    return new


def _set_status(cert: Certificate, status: str, reason: str, effective_on: date, by: User | None) -> None:
    cert.status = status
    cert.status_reason = reason
    cert.status_effective_on = effective_on
    cert.status_changed_by_id = getattr(by, "id", None)
    cert.status_changed_at = utcnow()


def change_status(cert: Certificate, status: str, *, reason: str, effective_on: date | None = None,
                  by: User | None = None) -> Certificate:
    """Suspend, restore, withdraw, revoke or cancel, with a reason and an effective date."""
    if status not in STATUSES:
        raise CertificateError(_("Unknown status."))
    allowed = TRANSITIONS.get(cert.status, set())
    if status not in allowed:
        raise Conflict(_("A certificate that is %(old)s cannot become %(new)s.", old=cert.status_label,
                         new=STATUSES[status]))
    reason = (reason or "").strip()
    if not reason:
        raise CertificateError(_("A reason is required."))
    before = _snapshot(cert)
    _set_status(cert, status, reason[:2000], effective_on or local_today(), by)
    db.session.flush()
    audit.record(f"certificate.{status}", cert, actor=by, before=before,
                 after=_snapshot(cert) | {"reason": cert.status_reason,
                                          "effective_on": cert.status_effective_on.isoformat()})
    return cert


@employment_changed.connect
def _withdraw_on_leaving(user, before: str, after: str) -> None:
    """Leaving the post (离职/退休) withdraws every certificate the person holds, in the same transaction."""
    if after not in {"left", "retired"}:
        return
    for cert in db.session.scalars(select(Certificate).where(Certificate.holder_id == user.id,
                                                             Certificate.status.in_(HELD_STATUSES))):
        change_status(cert, "withdrawn", reason=_("Left the post (%(status)s)", status=EMPLOYMENT_STATUSES[after]),
                      effective_on=local_today())


def expire_certificates(as_of: date | None = None) -> int:
    """Mark held certificates past their validity as expired (daily cron)."""
    as_of = as_of or local_today()
    certs = db.session.scalars(select(Certificate).where(Certificate.status.in_(HELD_STATUSES),
                                                         Certificate.valid_until < as_of)).all()
    for cert in certs:
        before = _snapshot(cert)
        _set_status(cert, "expired", _("Validity ended"), cert.valid_until + relativedelta(days=1), None)
        audit.record("certificate.expired", cert, before=before, after=_snapshot(cert))
    db.session.flush()
    return len(certs)


# --- annual review -------------------------------------------------------------------------------------

def annual_review(year: int, category: EnforcementCategory | None = None) -> list[tuple[Certificate, list[Reason]]]:
    """年审 of every valid certificate: training hours of that year and a passed annual law exam."""
    stmt = select(Certificate).where(Certificate.status == "valid", Certificate.issued_on <= date(year, 12, 31))
    if category is not None:
        stmt = stmt.where(Certificate.category_id == category.id)
    certs = db.session.scalars(stmt.order_by(Certificate.number)).all()
    holder_ids = list({c.holder_id for c in certs})
    start, end = date(year, 1, 1), date(year, 12, 31)
    hours = sources.training_hours(holder_ids, start, end)
    annual = sources.passed_results(holder_ids, purpose="annual", category_name=None, since=start, until=end)
    required = float(setting("STUDY_REQUIRED_HOURS"))
    out = []
    for cert in certs:
        reasons = []
        have = hours.get(cert.holder_id, 0.0)
        if have + 1e-9 < required:
            reasons.append(Reason("hours_short", _("Training hours short %(have)s/%(need)s",
                                                   have=_fmt_hours(have), need=_fmt_hours(required))))
        if not annual.get(cert.holder_id):
            reasons.append(Reason("no_annual_exam", _("No passed annual law exam in %(year)d", year=year)))
        out.append((cert, reasons))
    return out


def record_annual_review(year: int, results: list[tuple[Certificate, list[Reason]]], by: User | None) -> int:
    passed = [cert for cert, reasons in results if not reasons]
    for cert in passed:
        cert.last_review_year = year
    db.session.flush()
    audit.record("certificate.annual_review", None, actor=by,
                 after={"year": year, "passed": [c.number for c in passed],
                        "failed": [c.number for c, r in results if r]})
    return len(passed)


# --- lookups -------------------------------------------------------------------------------------------

def by_token(token: str) -> Certificate:
    cert = db.session.scalar(select(Certificate).where(Certificate.verification_token == token)) if (
        0 < len(token) <= 64) else None
    if cert is None:
        raise NotFound(_("No certificate matches this code."))
    return cert


def by_number(number: str) -> Certificate:
    number = (number or "").strip().upper()
    cert = db.session.scalar(select(Certificate).where(func.upper(Certificate.number) == number)) if (
        0 < len(number) <= 32) else None
    if cert is None:
        raise NotFound(_("No certificate has this number."))
    return cert


def rotate_token(cert: Certificate, by: User | None) -> None:
    cert.verification_token = new_token()
    db.session.flush()
    audit.record("certificate.rotate_token", cert, actor=by)


def public_status(cert: Certificate, as_of: date | None = None) -> str:
    """What the public page says: the stored status, or expired once validity has passed."""
    as_of = as_of or local_today()
    if cert.status in HELD_STATUSES and as_of > cert.valid_until:
        return "expired"
    return cert.status


# --- photos --------------------------------------------------------------------------------------------

def set_photo(user: User, data: bytes, *, by: User | None = None) -> HolderPhoto:
    """A certificate photo: a real JPEG or PNG, size- and dimension-checked, re-encoded to strip metadata."""
    from PIL import Image, UnidentifiedImageError

    limit = int(current_app.config["CERT_PHOTO_MAX_BYTES"])
    if not data:
        raise CertificateError(_("The photo file is empty."))
    if len(data) > limit:
        raise CertificateError(_("The photo is larger than %(mb)s MB.", mb=f"{limit / 1024 / 1024:g}"))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in {"JPEG", "PNG"}:
                raise CertificateError(_("The photo must be a JPEG or PNG image."))
            if probe.width * probe.height > 40_000_000:
                raise CertificateError(_("The photo has too many pixels."))
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (600, 800))  # a large JPEG is decoded at a reduced scale
            image = image.convert("RGB")
            image.thumbnail((600, 800))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=88)
    except CertificateError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise CertificateError(_("The photo must be a JPEG or PNG image.")) from exc
    photo = db.session.get(HolderPhoto, user.id) or HolderPhoto(user_id=user.id)
    photo.content, photo.mime, photo.uploaded_at = out.getvalue(), "image/jpeg", utcnow()
    db.session.add(photo)
    db.session.flush()
    audit.record("certificate.photo", user, actor=by)
    return photo


def rows_hash(columns: list, rows: list) -> str:
    payload = json.dumps([columns, rows], ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
