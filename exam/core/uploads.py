"""Uploads are checked by their content, never by their name or the browser's declared type.

Every area that accepts a file calls ``check_upload`` first::

    from exam.core.uploads import check_upload
    upload = check_upload(form.file.data.read(), form.file.data.filename, allowed={"pdf", "docx"})
    # upload.kind == "pdf" | "docx", upload.mimetype, upload.data, upload.filename (safe to show and store)

It raises ``UploadRejected`` (a DomainError: 422, or 413 for size) with a message in the user's language.
Office files (docx, xlsx) are zip archives: they are also checked for damage and for zip bombs.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

import filetype
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from exam.core.errors import DomainError

KINDS = {
    "pdf": ("application/pdf", _l("PDF")),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _l("Word document (.docx)")),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _l("Excel workbook (.xlsx)")),
    "jpeg": ("image/jpeg", _l("JPEG image")),
    "png": ("image/png", _l("PNG image")),
}
ZIP_KINDS = {"docx", "xlsx"}
ALIASES = {"jpg": "jpeg"}
MAX_ZIP_ENTRIES = 5000
MAX_ZIP_EXPANSION = 100  # uncompressed / compressed
MAX_ZIP_UNCOMPRESSED = 200 * 1024 * 1024


class UploadRejected(DomainError):
    code = "upload_rejected"


class UploadTooLarge(UploadRejected):
    status_code = 413
    code = "too_large"


@dataclass(frozen=True)
class CheckedUpload:
    kind: str
    mimetype: str
    data: bytes
    filename: str


def safe_filename(name: str | None, kind: str) -> str:
    """A display and storage name: no path, no control characters, Chinese kept, the real extension."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    stem = re.sub(r"\.[A-Za-z0-9]{1,8}$", "", base).strip(" .")[:100] or "file"
    extension = "jpg" if kind == "jpeg" else kind
    return f"{stem}.{extension}"


def _check_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ZIP_ENTRIES:
                raise UploadRejected(_("The file contains too many parts."))
            total = sum(e.file_size for e in entries)
            if total > MAX_ZIP_UNCOMPRESSED or total > MAX_ZIP_EXPANSION * max(len(data), 1):
                raise UploadRejected(_("The file expands to an unreasonable size and was refused."))
            if any(e.filename.startswith("/") or ".." in e.filename.split("/") for e in entries):
                raise UploadRejected(_("The file is damaged or not a real document."))
            if archive.testzip() is not None:
                raise UploadRejected(_("The file is damaged or not a real document."))
    except zipfile.BadZipFile as exc:
        raise UploadRejected(_("The file is damaged or not a real document.")) from exc


def check_upload(data: bytes, filename: str | None, allowed: Iterable[str], *,
                 max_bytes: int | None = None) -> CheckedUpload:
    allowed_kinds = {ALIASES.get(k, k) for k in allowed}
    unknown = allowed_kinds - set(KINDS)
    if unknown:
        raise ValueError(f"unknown upload kinds {unknown}")
    names = "、".join(str(KINDS[k][1]) for k in sorted(allowed_kinds))
    if not data:
        raise UploadRejected(_("The file is empty."))
    if max_bytes is not None and len(data) > max_bytes:
        raise UploadTooLarge(_("The file is larger than %(n)d MB.", n=max(1, max_bytes // (1024 * 1024))))
    guessed = filetype.guess(data)
    kind = ALIASES.get(guessed.extension, guessed.extension) if guessed else None
    if kind not in allowed_kinds:
        raise UploadRejected(_("The file is not of an accepted type (%(kinds)s); its content was checked.",
                               kinds=names))
    if kind in ZIP_KINDS:
        _check_zip(data)
    return CheckedUpload(kind, KINDS[kind][0], data, safe_filename(filename, kind))
