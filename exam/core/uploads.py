"""Uploaded files: checked by content (never by name), stored under generated names, served safely.

Every area that accepts a file uses this module:

* ``read_upload(file_storage, max_bytes)`` reads at most ``max_bytes`` (413 beyond that) and refuses
  file names carrying a path;
* ``check_file(data, name, allowed={"pdf", "docx", ...})`` identifies the content with ``filetype`` and
  zip inspection (a zip bomb is refused before anything is decompressed);
* ``store(data, folder, kind)`` writes under a random name in the instance folder, outside ``static``, and
  deletes the file again if the transaction is rolled back;
* ``send_stored(...)`` serves it with ``Content-Disposition`` and ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

import filetype
from flask import current_app, send_file
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session

from exam.core.errors import DomainError

MB = 1024 * 1024
ZIP_MAX_UNCOMPRESSED = 100 * MB
ZIP_MAX_RATIO = 100
ZIP_MAX_ENTRIES = 10_000

KINDS = {
    # kind -> (extension, mimetype)
    "pdf": (".pdf", "application/pdf"),
    "docx": (".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "png": (".png", "image/png"),
    "jpeg": (".jpg", "image/jpeg"),
}
KIND_LABELS = {"pdf": "PDF", "docx": "Word (.docx)", "xlsx": "Excel (.xlsx)", "png": "PNG", "jpeg": "JPEG"}
# The member every Office Open XML file of that kind must hold.
OOXML_MAIN_PART = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.[a-z]{3,4}$")


class UploadRejected(DomainError):
    code = "upload_rejected"


class UploadTooLarge(DomainError):
    status_code = 413
    code = "too_large"


@dataclass(frozen=True)
class CheckedFile:
    data: bytes
    kind: str
    original_name: str

    @property
    def extension(self) -> str:
        return KINDS[self.kind][0]

    @property
    def mimetype(self) -> str:
        return KINDS[self.kind][1]

    @property
    def size(self) -> int:
        return len(self.data)


def display_name(name: str | None) -> str:
    """The file name as shown and offered for download; never used to build a path."""
    text = unicodedata.normalize("NFC", name or "")
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C").strip()
    return text[:200]


def _check_name(name: str | None) -> str:
    raw = name or ""
    parts = re.split(r"[\\/]", raw)
    if len(parts) > 1 or ".." in parts or "\x00" in raw:
        raise UploadRejected(_("The file name contains a folder path (such as ../) and was refused."))
    cleaned = display_name(raw)
    if not cleaned:
        raise UploadRejected(_("The file has no name."))
    return cleaned


def read_upload(storage, max_bytes: int) -> tuple[bytes, str]:
    """Read an uploaded file (werkzeug FileStorage) without ever holding more than ``max_bytes + 1``."""
    name = _check_name(getattr(storage, "filename", None))
    data = storage.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UploadTooLarge(
            _("The file is larger than %(mb)s MB and was refused.", mb=_format_mb(max_bytes))
        )
    if not data:
        raise UploadRejected(_("The file is empty."))
    return data, name


def _format_mb(n: int) -> str:
    value = n / MB
    return str(int(value)) if value == int(value) else f"{value:.1f}"


def inspect_zip(data: bytes) -> zipfile.ZipFile:
    """Open a zip after checking its directory: no bomb (size, ratio, entries), no path tricks."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise UploadRejected(_("The file is damaged and cannot be opened.")) from exc
    if len(infos) > ZIP_MAX_ENTRIES:
        raise UploadRejected(_("The file holds too many parts; it looks like a compressed-file bomb."))
    uncompressed = sum(max(i.file_size, 0) for i in infos)
    compressed = sum(max(i.compress_size, 0) for i in infos)
    if uncompressed > ZIP_MAX_UNCOMPRESSED or uncompressed > ZIP_MAX_RATIO * max(compressed, 1):
        raise UploadRejected(
            _("The file expands to far more than its size (a compressed-file bomb) and was refused.")
        )
    return archive


def detect_kind(data: bytes) -> str | None:
    """The kind of content, from its bytes: pdf, docx, xlsx, png, jpeg, or None."""
    guess = filetype.guess(data)
    mime = guess.mime if guess else None
    if mime == "application/pdf" and data.startswith(b"%PDF-"):
        return "pdf"
    if mime == "image/png":
        return "png"
    if mime == "image/jpeg":
        return "jpeg"
    if data.startswith(b"PK\x03\x04"):
        archive = inspect_zip(data)
        names = set(archive.namelist())
        if "[Content_Types].xml" in names:
            for kind, part in OOXML_MAIN_PART.items():
                if part in names:
                    return kind
        return "zip"
    return None


def check_file(data: bytes, name: str, allowed: set[str]) -> CheckedFile:
    """Refuse anything whose content is not one of ``allowed`` kinds, whatever its name says."""
    kind = detect_kind(data)
    if kind not in allowed:
        wanted = "、".join(KIND_LABELS[k] for k in sorted(allowed))
        raise UploadRejected(
            _("The content of %(name)s is not a %(kinds)s file; it was refused.", name=name, kinds=wanted)
        )
    return CheckedFile(data=data, kind=kind, original_name=name)


def check_upload(storage, allowed: set[str], max_bytes: int) -> CheckedFile:
    data, name = read_upload(storage, max_bytes)
    return check_file(data, name, allowed)


# --- storage ---------------------------------------------------------------------------------------------

def folder_path(folder: str) -> Path:
    if not re.fullmatch(r"[a-z0-9_]+", folder):
        raise ValueError(folder)
    return Path(current_app.instance_path) / "uploads" / folder


def stored_path(folder: str, stored_name: str) -> Path:
    """The path of a stored file; only names this module generated are accepted."""
    if not STORED_NAME.fullmatch(stored_name or ""):
        raise ValueError("not a stored file name")
    return folder_path(folder) / stored_name


def store(checked: CheckedFile, folder: str, session: Session | None = None) -> str:
    """Write the file under a random name; it is removed again if ``session`` rolls back."""
    directory = folder_path(folder)
    directory.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_hex(16) + checked.extension
    path = directory / stored_name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(fd, "wb") as fh:
        fh.write(checked.data)
    if session is not None:
        session.info.setdefault("uploads_written", []).append(str(path))
    return stored_name


def delete_after_commit(session: Session, folder: str, stored_name: str | None) -> None:
    """Remove a replaced file once the change that dropped it is committed."""
    if stored_name:
        session.info.setdefault("uploads_to_delete", []).append(str(stored_path(folder, stored_name)))


def _unlink(paths) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


@event.listens_for(Session, "after_commit")
def _files_committed(session):
    if session.in_nested_transaction():  # a savepoint was released; the outer transaction decides
        return
    session.info.pop("uploads_written", None)
    _unlink(session.info.pop("uploads_to_delete", []))


@event.listens_for(Session, "after_soft_rollback")
def _files_rolled_back(session, _previous_transaction):
    if session.in_transaction():  # only a savepoint was rolled back; the outer transaction goes on
        return
    _unlink(session.info.pop("uploads_written", []))
    session.info.pop("uploads_to_delete", None)


def discard_uncommitted(session: Session) -> None:
    """Delete files written in a transaction that will not be committed (called on refusal paths)."""
    _unlink(session.info.pop("uploads_written", []))


def send_stored(folder: str, stored_name: str, *, mimetype: str, download_name: str, inline: bool = False):
    """Serve a stored file. Inline PDFs may be framed by this site only (for the embedded reader)."""
    path = stored_path(folder, stored_name)
    if not path.is_file():
        from werkzeug.exceptions import NotFound

        raise NotFound()
    response = send_file(path, mimetype=mimetype, as_attachment=not inline, download_name=download_name or
                         ("file" + Path(stored_name).suffix), max_age=0, conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    if inline:
        # The global policy forbids framing; the reading page embeds this one response from the same origin.
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["Content-Security-Policy"] = "frame-ancestors 'self'"
    return response
