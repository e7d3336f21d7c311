"""Administrator's page for domain settings (rule numbers with their defaults)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from exam.admin import bp
from exam.core.access import roles_required
from exam.core.settings import SPECS, all_settings, set_setting
from exam.extensions import db


@bp.route("/admin/settings", methods=["GET", "POST"])
@roles_required("admin")
def settings():
    if request.method == "POST":
        errors = []
        for key, spec in SPECS.items():
            raw = request.form.get(key)
            if raw is None:
                continue
            try:
                set_setting(key, raw.strip())
            except (TypeError, ValueError):
                errors.append(str(spec.label))
        if errors:
            db.session.rollback()
            flash(_("Not saved; these values are out of range: %(names)s", names="、".join(errors)), "danger")
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("admin.settings"))
    return render_template("admin/settings.html", items=all_settings())
