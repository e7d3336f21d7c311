"""Message catalogues: one per package, so each area keeps its own translations.

``flask --app wsgi i18n update`` extracts the English source strings and merges them into each
package's ``translations/zh_CN/LC_MESSAGES/messages.po``; ``i18n compile`` builds the ``.mo`` files.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ["zh"]  # Babel parses zh_CN as zh_Hans_CN, which gettext finds under "zh"

# catalogue folder -> the source folders and files whose strings it holds
CATALOGS: dict[str, list[str]] = {
    "exam": ["exam/__init__.py", "exam/cli.py", "exam/errors.py", "exam/config.py", "exam/core", "exam/accounts",
             "exam/main", "exam/api", "exam/admin", "templates/base.html", "templates/macros.html",
             "templates/accounts", "templates/main", "templates/errors", "templates/admin"],
    "question_bank": ["question_bank", "templates/question_bank"],
    "exam/study": ["exam/study", "templates/study"],
    "exam/exams": ["exam/exams", "templates/exams"],
    "exam/certificates": ["exam/certificates", "templates/certificates"],
    "exam/reports": ["exam/reports", "templates/reports"],
}
METHOD_MAP = [("**.py", "python"), ("**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
            "pgettext": ((1, "c"), 2), "lazy_pgettext": ((1, "c"), 2)}
OPTIONS = {"**.html": {"extensions": "jinja2.ext.do"}}


def extract(catalog_dir: str) -> Catalog:
    catalog = Catalog(locale=None, project="exam", charset="utf-8")
    for source in CATALOGS[catalog_dir]:
        path = ROOT / source
        if path.is_dir():
            messages = extract_from_dir(str(path), METHOD_MAP, options_map=OPTIONS, keywords=KEYWORDS,
                                        comment_tags=("TRANSLATORS:",))
            for filename, lineno, message, comments, context in messages:
                catalog.add(message, None, [(f"{source}/{filename}", lineno)], auto_comments=comments,
                            context=context)
        elif path.is_file():
            method = "jinja2" if path.suffix == ".html" else "python"
            for lineno, message, comments, context in extract_from_file(
                method, str(path), keywords=KEYWORDS, comment_tags=("TRANSLATORS:",),
                options=OPTIONS["**.html"] if method == "jinja2" else None,
            ):
                catalog.add(message, None, [(source, lineno)], auto_comments=comments, context=context)
    return catalog


def po_path(catalog_dir: str, locale: str) -> Path:
    return ROOT / catalog_dir / "translations" / locale / "LC_MESSAGES" / "messages.po"


def load(catalog_dir: str, locale: str) -> Catalog | None:
    path = po_path(catalog_dir, locale)
    if not path.exists():
        return None
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def update() -> list[str]:
    """Merge new source strings into every catalogue; returns a report line per catalogue."""
    report = []
    for catalog_dir in CATALOGS:
        template = extract(catalog_dir)
        if not len(template):
            continue
        for locale in LOCALES:
            catalog = load(catalog_dir, locale) or Catalog(locale=locale, project="exam", charset="utf-8")
            catalog.update(template, no_fuzzy_matching=True)
            catalog.obsolete.clear()
            path = po_path(catalog_dir, locale)
            path.parent.mkdir(parents=True, exist_ok=True)
            buffer = io.BytesIO()
            write_po(buffer, catalog, width=120, omit_header=False, sort_output=False, ignore_obsolete=True)
            path.write_bytes(buffer.getvalue())
            missing = [m.id for m in catalog if m.id and not m.string]
            report.append(f"{path.relative_to(ROOT)}: {len(catalog)} messages, {len(missing)} untranslated")
    return report


def compile_all() -> list[str]:
    report = []
    for catalog_dir in CATALOGS:
        for locale in LOCALES:
            po = po_path(catalog_dir, locale)
            if not po.exists():
                continue
            mo = po.with_suffix(".mo")
            if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                continue
            catalog = load(catalog_dir, locale)
            with mo.open("wb") as fh:
                write_mo(fh, catalog)
            report.append(str(mo.relative_to(ROOT)))
    return report
