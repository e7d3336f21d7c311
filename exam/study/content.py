"""Bulletin bodies: Markdown or HTML to sanitised HTML, DOCX to HTML, plain text for search, highlighting."""

from __future__ import annotations

import html as html_lib
import io
import re

import nh3
from markupsafe import Markup, escape

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "b", "em", "i", "u", "s", "sub", "sup",
    "blockquote", "pre", "code", "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr",
    "th", "td", "caption", "a", "img", "span", "div", "mark", "small",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
    "ol": {"start"},
}
# Tags removed together with everything inside them.
DROPPED_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math"}
URL_SCHEMES = {"http", "https", "mailto", "data"}
DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+$", re.IGNORECASE)


def _same_site_path(value: str) -> bool:
    return value.startswith("/") and not value.startswith("//") and "\\" not in value


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    value = value.strip()
    if tag == "img" and attribute == "src":
        # Only images carried in the document or served by this site: a remote image leaks who reads.
        return value if DATA_IMAGE.match(value) or _same_site_path(value) else None
    if tag == "a" and attribute == "href":
        lowered = value.lower()
        if lowered.startswith(("http://", "https://", "mailto:", "#")) or _same_site_path(value):
            return value
        return None
    return value


def sanitize_html(source: str | None) -> str:
    """Keep a safe set of tags; strip scripts, event handlers, javascript: links and remote images."""
    if not source:
        return ""
    return nh3.clean(
        source,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def markdown_to_html(source: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable("table").render(source or "")


def body_to_html(source: str, fmt: str) -> str:
    raw = markdown_to_html(source) if fmt == "markdown" else source
    return sanitize_html(raw)


def docx_to_html(data: bytes) -> str:
    """Convert a checked DOCX to sanitised HTML (images stay embedded as data: URIs)."""
    import mammoth

    result = mammoth.convert_to_html(io.BytesIO(data))
    return sanitize_html(result.value)


_BLOCK_END = re.compile(r"</(p|div|h[1-6]|li|tr|blockquote|pre|table|dd|dt)>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def html_to_text(source: str | None) -> str:
    """Plain text of (already sanitised) HTML, for search and excerpts."""
    if not source:
        return ""
    text = _BLOCK_END.sub("\n", source)
    text = _TAG.sub("", text)
    text = html_lib.unescape(text)
    text = re.sub(r"[ \t\u3000]+", " ", text)
    return re.sub(r"\s*\n\s*", "\n", text).strip()


def highlight(text: str | None, query: str | None) -> Markup:
    """Escape everything, then wrap each match of ``query`` (case-insensitive) in <mark>."""
    text = text or ""
    if not query:
        return escape(text)
    pieces, last = [], 0
    for match in re.finditer(re.escape(query), text, re.IGNORECASE):
        pieces.append(str(escape(text[last:match.start()])))
        pieces.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    pieces.append(str(escape(text[last:])))
    return Markup("".join(pieces))  # noqa: S704 (every piece was escaped above)


def excerpt(text: str | None, query: str | None, width: int = 60) -> Markup:
    """A short passage around the first match, highlighted; the start of the text when nothing matches."""
    text = (text or "").replace("\n", " ")
    position = text.lower().find(query.lower()) if query else -1
    if position < 0:
        cut = text[: width * 2]
        return highlight(cut + ("…" if len(text) > len(cut) else ""), query)
    start = max(0, position - width)
    end = min(len(text), position + len(query) + width)
    passage = ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
    return highlight(passage, query)
