"""Uploads are judged by content: a renamed or disguised file is refused, and so is a zip bomb."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest
from openpyxl import Workbook
from werkzeug.datastructures import FileStorage

from exam.core.uploads import UploadRejected, UploadTooLarge, _check_name, check_file, display_name, read_upload


def _png() -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"\x00\xff\x00\x00"
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _xlsx() -> bytes:
    buffer = io.BytesIO()
    Workbook().save(buffer)
    return buffer.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_real_files_are_accepted_with_their_real_kind(ctx):
    assert check_file(PDF, "第8期学法材料.pdf", {"pdf", "docx"}).kind == "pdf"
    upload = check_file(_png(), "证件照.PNG", {"jpeg", "png"})
    assert (upload.kind, upload.mimetype) == ("png", "image/png")
    assert check_file(_xlsx(), "名册.xlsx", {"xlsx"}).kind == "xlsx"


@pytest.mark.parametrize(("data", "name", "allowed"), [
    (b"<html><script>alert(1)</script></html>", "photo.png", {"png", "jpeg"}),
    (_png(), "bulletin.pdf", {"pdf"}),
    (PDF, "roster.xlsx", {"xlsx"}),
    (b"MZ\x90\x00" + b"\x00" * 60, "material.docx", {"docx", "pdf"}),
    (b"plain text pretending", "a.pdf", {"pdf"}),
])
def test_disguised_files_are_refused_by_content(ctx, data, name, allowed):
    with pytest.raises(UploadRejected) as caught:
        check_file(data, name, allowed)
    assert name in caught.value.message and "拒" in caught.value.message


def test_empty_and_oversized_files_are_refused(ctx):
    with pytest.raises(UploadRejected):
        read_upload(FileStorage(io.BytesIO(b""), "a.pdf"), 1024)
    with pytest.raises(UploadTooLarge) as caught:
        read_upload(FileStorage(io.BytesIO(PDF + b"0" * (2 * 1024 * 1024)), "a.pdf"), 1024 * 1024)
    assert caught.value.status_code == 413


def _zip_with(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_bomb_disguised_as_a_workbook_is_refused(ctx):
    bomb = _zip_with({"xl/worksheets/sheet1.xml": b"\x00" * (50 * 1024 * 1024)})
    assert len(bomb) < 1024 * 1024
    with pytest.raises(UploadRejected):
        check_file(bomb, "名册.xlsx", {"xlsx"})


def test_zip_with_path_traversal_entries_is_refused(ctx):
    evil = _zip_with({"../../etc/cron.d/x": b"* * * * * root id"})
    with pytest.raises(UploadRejected):
        check_file(evil, "名册.xlsx", {"xlsx"})


@pytest.mark.parametrize("name", ["../../etc/passwd", "C:\\Users\\李\\第8期.docx", "a/b.pdf", "x\x00.pdf", ""])
def test_file_names_with_paths_or_nothing_are_refused(ctx, name):
    with pytest.raises(UploadRejected):
        _check_name(name)


def test_displayed_names_keep_chinese_and_lose_control_characters():
    assert display_name("第8期\r\n学法材料.pdf") == "第8期学法材料.pdf"
