"""render_pdf: Chinese text survives, and every source outside the static folder is refused unfetched."""

from __future__ import annotations

import io
import logging
import os
import shutil
import socket
import struct
import zlib

import pytest
from pypdf import PdfReader

from exam.core import pdf as pdf_module
from exam.core.pdf import StaticOnlyFetcher, make_fetcher, render_pdf


def _png(width: int = 4, height: int = 4) -> bytes:
    raw = b"".join(b"\x00" + b"\xcc\x00\x00" * width for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _text(pdf_bytes: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf_bytes))
    return "\n".join(page.extract_text() for page in reader.pages)


def _image_count(pdf_bytes: bytes) -> int:
    reader = PdfReader(io.BytesIO(pdf_bytes))
    return sum(len(page.images) for page in reader.pages)


@pytest.fixture
def static_dir(app, tmp_path):
    """A private static folder (the real print.css, a test image, a symlink that points outside)."""
    folder = tmp_path / "static"
    (folder / "css").mkdir(parents=True)
    (folder / "img").mkdir()
    shutil.copy(os.path.join(app.root_path, os.pardir, "static", "css", "print.css"), folder / "css" / "print.css")
    (folder / "img" / "mark.png").write_bytes(_png())
    secret = tmp_path / "secret.png"
    secret.write_bytes(_png())
    os.symlink(secret, folder / "img" / "escape.png")
    app.static_folder = str(folder)
    return folder


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection is recorded and fails."""
    attempts = []

    def refuse_connect(self, address):
        attempts.append(address)
        raise OSError("network disabled in this test")

    def refuse_lookup(host, *args, **kwargs):
        attempts.append(host)
        raise OSError("name lookup disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse_connect)
    monkeypatch.setattr(socket, "getaddrinfo", refuse_lookup)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: refuse_connect(None, address))
    return attempts


def _render(html: str, **kwargs) -> tuple[bytes, StaticOnlyFetcher]:
    fetcher = make_fetcher()
    return render_pdf(html, fetcher=fetcher, **kwargs), fetcher


def test_chinese_text_renders_and_extracts(ctx, static_dir, no_network):
    html = "<h1>行政执法证申领名单</h1><p>依照《中华人民共和国行政处罚法》第四十二条</p>"
    data, fetcher = _render(html)
    assert data.startswith(b"%PDF")
    text = _text(data)
    assert "行政执法证申领名单" in text
    assert "行政处罚法" in text
    assert "第 1 页 共 1 页" in text  # the footer of static/css/print.css
    assert fetcher.refused == []
    assert no_network == []


def test_page_footer_counts_every_page(ctx, static_dir):
    html = "".join(f'<p class="page-break">第{i}部分</p>' for i in range(3))
    text = _text(render_pdf(html))
    assert "第 3 页 共 3 页" in text


def test_a_static_image_is_served(ctx, static_dir, no_network):
    data, fetcher = _render('<p>图</p><img src="/static/img/mark.png" width="20">')
    assert fetcher.refused == []
    assert _image_count(data) == 1
    data, fetcher = _render('<img src="img/mark.png" width="20">')  # relative to the static folder
    assert _image_count(data) == 1
    assert no_network == []


def test_external_static_url_of_this_host_is_served_from_disk(app, static_dir, no_network):
    with app.test_request_context(base_url="http://exam.example.gov.cn"):
        data, fetcher = _render('<img src="http://exam.example.gov.cn/static/img/mark.png" width="20">')
    assert fetcher.refused == [] and _image_count(data) == 1
    assert no_network == []


def test_data_url_is_allowed(ctx, static_dir, no_network):
    import base64

    src = "data:image/png;base64," + base64.b64encode(_png()).decode()
    data, fetcher = _render(f'<img src="{src}" width="20">')
    assert fetcher.refused == []
    assert _image_count(data) == 1


HOSTILE = [
    ('<img src="file:///etc/passwd">', "file:///etc/passwd"),
    ('<link rel="stylesheet" href="file:///etc/passwd">', "file:///etc/passwd"),
    ("<style>@import url(http://169.254.169.254/latest/meta-data);</style>", "http://169.254.169.254/latest/meta-data"),
    ('<div style="background: url(http://127.0.0.1:6379/)">x</div>', "http://127.0.0.1:6379/"),
    ('<img src="https://example.com/tracker.png">', "https://example.com/tracker.png"),
    ('<img src="ftp://ftp.example.com/a.png">', "ftp://ftp.example.com/a.png"),
    ('<img src="http://exam.internal/admin/users">', "http://exam.internal/admin/users"),
    ('<img src="/static/../exam/config.py">', None),
    ('<img src="/static/img/escape.png">', "http://exam.internal/static/img/escape.png"),
]


@pytest.mark.parametrize(("html", "expected_url"), HOSTILE)
def test_hostile_sources_are_refused_without_a_connection(ctx, static_dir, no_network, caplog, html, expected_url):
    caplog.set_level(logging.WARNING, logger="exam.pdf")
    data, fetcher = _render(f"<p>正文</p>{html}")
    assert data.startswith(b"%PDF")
    assert fetcher.refused, f"nothing refused; requested {fetcher.requested}"
    if expected_url:
        assert expected_url in fetcher.refused
    assert no_network == []
    assert _image_count(data) == 0
    assert any("PDF fetch refused" in r.getMessage() for r in caplog.records)


def test_relative_path_escaping_a_static_base_url_is_refused(ctx, static_dir, no_network):
    data, fetcher = _render('<img src="../../../../etc/passwd">', base_url=str(static_dir))
    assert len(fetcher.refused) == 1 and fetcher.refused[0].endswith("/etc/passwd")
    deep = "../" * 30 + "etc/passwd"
    data, fetcher = _render(f'<img src="{deep}">', base_url=str(static_dir))
    assert fetcher.refused == ["file:///etc/passwd"]
    assert _image_count(data) == 0
    assert no_network == []


def test_file_url_inside_static_is_served_but_symlink_out_is_not(ctx, static_dir):
    fetcher = make_fetcher()
    inside = fetcher.fetch(f"file://{static_dir}/img/mark.png")
    assert inside.read() == _png()
    with pytest.raises(pdf_module.FetchRefused):
        fetcher.fetch(f"file://{static_dir}/img/escape.png")
    with pytest.raises(pdf_module.FetchRefused):
        fetcher.fetch(f"file://{static_dir}/img/../../secret.png")
    with pytest.raises(pdf_module.FetchRefused):
        fetcher.fetch("file://otherhost/etc/passwd")


def test_refused_stylesheet_argument_is_skipped(ctx, static_dir, no_network):
    data, fetcher = _render("<p>正文</p>", stylesheets=["http://169.254.169.254/x.css", "/static/css/print.css"])
    assert "http://169.254.169.254/x.css" in fetcher.refused
    assert "正文" in _text(data)
    assert no_network == []
