"""The one WeasyPrint entry point of the application: ``render_pdf``.

Printed documents (certificates, HR lists, reports) are rendered from HTML that may contain text written by
users. WeasyPrint would fetch any URL it meets (``file:///etc/passwd``, the cloud metadata address, intranet
hosts), so every fetch goes through :class:`StaticOnlyFetcher`, which serves only files under the app's own
static folder and ``data:`` URLs and refuses everything else without opening a connection.

Use it like this::

    from exam.core.pdf import render_pdf
    pdf_bytes = render_pdf(render_template("pdf/list.html", ...))

``static/css/print.css`` (A4, Noto CJK fonts, "第 x 页 共 y 页" footer) is applied first; pass more stylesheets
as ``/static/...`` URLs or paths relative to the static folder.
"""

from __future__ import annotations

import io
import logging
import mimetypes
import os
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from flask import current_app, has_request_context, request
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse, path2url

logger = logging.getLogger("exam.pdf")

# Relative and root-relative URLs (``/static/css/print.css``) resolve against this origin. It is never
# contacted: the fetcher maps its static paths to files on disk.
INTERNAL_ORIGIN = "http://exam.internal"
BASE_STYLESHEET = "css/print.css"


class FetchRefused(ValueError):
    """A PDF source asked for something outside the static folder; WeasyPrint skips the resource."""


class StaticOnlyFetcher(URLFetcher):
    """Serves files under ``static_folder`` and ``data:`` URLs; refuses and logs everything else.

    ``requested`` and ``refused`` list the URLs seen, so callers and tests can tell what happened.
    """

    def __init__(self, static_folder: str, static_url_path: str = "/static", local_hosts: set[str] | None = None):
        super().__init__(allowed_protocols={"data"}, allow_redirects=False, fail_on_errors=False)
        self.static_root = os.path.realpath(static_folder)
        self.static_url_path = "/" + static_url_path.strip("/")
        self.local_hosts = {urlsplit(INTERNAL_ORIGIN).netloc, *(local_hosts or set())}
        self.requested: list[str] = []
        self.refused: list[str] = []

    # --- the WeasyPrint hook ----------------------------------------------------------------------------
    def fetch(self, url, headers=None):
        self.requested.append(url)
        try:
            parts = urlsplit(url)
        except ValueError:
            self._refuse(url, "malformed URL")
        scheme = parts.scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)  # decoded in memory by urllib's DataHandler
        if scheme == "file":
            if parts.netloc not in ("", "localhost"):
                self._refuse(url, "file URL on another host")
            return self._serve(url, url2pathname(unquote(parts.path)))
        if scheme in ("http", "https") and parts.netloc.lower() in self.local_hosts:
            path = unquote(parts.path)
            prefix = self.static_url_path + "/"
            if path.startswith(prefix):
                return self._serve(url, os.path.join(self.static_root, path[len(prefix):]))
            self._refuse(url, "not a static file of this application")
        self._refuse(url, f"scheme or host not allowed ({scheme or 'none'})")
        raise AssertionError("unreachable")  # pragma: no cover

    # --- helpers -----------------------------------------------------------------------------------------
    def _serve(self, url: str, path: str) -> URLFetcherResponse:
        real = os.path.realpath(path)  # resolves ".." and symlinks before the confinement check
        if os.path.commonpath([real, self.static_root]) != self.static_root or not os.path.isfile(real):
            self._refuse(url, "outside the static folder or missing")
        with open(real, "rb") as fh:
            body = fh.read()
        mimetype = mimetypes.guess_type(real)[0] or "application/octet-stream"
        return URLFetcherResponse(path2url(real), body, {"Content-Type": mimetype})

    def _refuse(self, url: str, reason: str):
        self.refused.append(url)
        logger.warning("PDF fetch refused: %s (%s)", url[:200], reason)
        raise FetchRefused(f"refused: {reason}")


def make_fetcher() -> StaticOnlyFetcher:
    hosts = set()
    if has_request_context():
        hosts.add(request.host.lower())  # url_for(..., _external=True) links to our own static files
    return StaticOnlyFetcher(current_app.static_folder, current_app.static_url_path or "/static", hosts)


def _as_base_url(base_url: str | None) -> str:
    static_base = f"{INTERNAL_ORIGIN}{'/' + (current_app.static_url_path or '/static').strip('/')}/"
    if not base_url:
        return static_base
    if "://" in base_url or base_url.startswith("data:"):
        return base_url
    if base_url.startswith("/"):
        real = os.path.realpath(base_url)
        if os.path.isdir(real):
            return path2url(real).rstrip("/") + "/"
        return path2url(real)
    return static_base + base_url


def render_pdf(html: str, *, base_url: str | None = None, stylesheets: list[str] | None = None,
               fetcher: StaticOnlyFetcher | None = None, base_css: bool = True) -> bytes:
    """Render HTML to PDF bytes. Resources come only from the static folder or ``data:`` URLs.

    ``base_url`` defaults to the static folder (relative URLs such as ``img/logo.png`` find static files);
    ``stylesheets`` are ``/static/...`` URLs or paths relative to the static folder, applied after
    ``static/css/print.css`` (leave it out with ``base_css=False``).
    """
    fetcher = fetcher or make_fetcher()
    return _write(html, fetcher, _as_base_url(base_url), _as_base_url(None), stylesheets, base_css)


def _write(html: str, fetcher: StaticOnlyFetcher, base: str, static_base: str, stylesheets, base_css: bool,
           extra_css: str | None = None) -> bytes:
    sheets = ([BASE_STYLESHEET] if base_css else []) + list(stylesheets or [])
    css = []
    for sheet in sheets:
        url = sheet if "://" in sheet else INTERNAL_ORIGIN + sheet if sheet.startswith("/") else static_base + sheet
        try:
            css.append(CSS(url=url, url_fetcher=fetcher))
        except FetchRefused:
            continue  # logged by the fetcher
        except Exception as exc:  # WeasyPrint wraps fetch errors in its own types
            logger.warning("PDF stylesheet skipped: %s (%s)", sheet, exc)
    if extra_css:
        css.append(CSS(string=extra_css, url_fetcher=fetcher))
    document = HTML(string=html, base_url=base, url_fetcher=fetcher)
    return document.write_pdf(stylesheets=css)


# --- long documents --------------------------------------------------------------------------------------

def allowed_cpus() -> int:
    """CPUs this process may run on (a container or ``taskset`` may allow fewer than the machine has)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _render_document(job: tuple) -> bytes:
    """Render one part, here or in a worker process (no Flask app there: the fetcher is built from the paths).

    The garbage collector is paused for the render (process-wide, a few seconds): WeasyPrint builds millions
    of small objects and frees them together at the end, so collections in between only rescan them."""
    import gc

    html, static_folder, static_url_path = job
    fetcher = StaticOnlyFetcher(static_folder, static_url_path)
    static_base = f"{INTERNAL_ORIGIN}/{static_url_path.strip('/')}/"
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _write(html, fetcher, static_base, static_base, None, False)
    finally:
        if enabled:
            gc.enable()


def render_pages(pages: list[str], css: str, *, title: str, created: str, author: str = "",
                 pages_per_part: int = 30, workers: int | None = None) -> bytes:
    """Render a long document whose pages are already planned (see ``exam.core.pdf_table``).

    Each item of ``pages`` is the HTML of exactly one sheet (a block that ends with a page break), ``css``
    their stylesheet. Consecutive pages are grouped in parts of ``pages_per_part``, rendered in parallel (this
    process and worker processes, as many as the CPUs this process may use) and joined in order; the page
    numbers are already in the pages, so nothing is stamped afterwards. Each part embeds its own font subset,
    so fewer, larger parts make a smaller file. The same static-only fetcher guards every part.
    ``created`` (ISO 8601) is the document's date, so a reprint gives the same bytes.
    """
    from concurrent.futures import ProcessPoolExecutor
    from html import escape
    from multiprocessing import get_context

    head = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="author" content="{escape(author)}"><meta name="dcterms.created" content="{escape(created)}">'
            f"<style>{css}\n.pg:last-child {{ break-after: auto; }}</style></head><body>")
    size = max(1, pages_per_part)
    parts = [head + "".join(pages[i:i + size]) + "</body></html>" for i in range(0, len(pages), size)] or [head]
    static_folder = current_app.static_folder
    static_url_path = current_app.static_url_path or "/static"
    jobs = [(html, static_folder, static_url_path) for html in parts]
    workers = min(len(jobs), workers if workers is not None else allowed_cpus())
    if workers > 1:
        # spawn, not fork: the web server's worker has threads, and a forked copy of their locks can hang.
        # This process renders the first part itself while the workers start and take the others.
        with ProcessPoolExecutor(max_workers=workers - 1, mp_context=get_context("spawn")) as pool:
            rest = pool.map(_render_document, jobs[1:])
            rendered = [_render_document(jobs[0]), *rest]
    else:
        rendered = [_render_document(job) for job in jobs]
    if len(rendered) == 1:
        return rendered[0]
    return _join(rendered, title=title, author=author, created=created)


def _join(documents: list[bytes], *, title: str, author: str, created: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for data in documents:
        writer.append(PdfReader(io.BytesIO(data)))
    stamp = "D:" + "".join(ch for ch in created if ch.isdigit())[:14]
    writer.add_metadata({"/Title": title, "/Author": author, "/Creator": "WeasyPrint", "/Producer": "exam",
                         "/CreationDate": stamp})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
