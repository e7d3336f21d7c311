"""Long tables planned page by page before WeasyPrint sees them (the HR lists of thousands of rows).

WeasyPrint's table layout measures every cell, then searches for page breaks; both grow faster than the
number of rows and hold the whole layout in memory. Here the pages are planned in Python from the font's own
advance widths (fontTools), measured with the same font and size the CSS uses: CJK glyphs are full width and
the embedded font is the one measured, so wrapping by width is exact enough. Every page's rows and every
cell's line breaks are known before rendering, so the HTML given to WeasyPrint is only fixed-height blocks of
unwrappable lines (``white-space: pre``), one page per block, and ``第 x 页 共 y 页`` is plain text.

Cells are not boxes: each line of a row is one run of text in which every cell's text is pushed to its column
by spaces (two space widths of the font, combined to within ~0.3 pt of the measured gap); the column rules
are a few absolutely placed lines per page. WeasyPrint's work is shaping and drawing one text per row.

Use :func:`plan_table` for the page plan and :func:`table_html` for the stylesheet and the HTML of each page;
the renderer is :func:`exam.core.pdf.render_pages` (parallel worker processes, joined into one document).
"""

from __future__ import annotations

import glob
import html
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache

PT_PER_MM = 72 / 25.4
FONT_FAMILY = "Noto Sans CJK SC"


# --- font metrics -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FontMetrics:
    """Advance widths of one font face, in font units, by code point."""

    advances: dict[int, int]
    units_per_em: int

    def width(self, text: str, size: float) -> float:
        """Width of ``text`` set in this font at ``size`` points (no kerning: CJK is monospaced full width)."""
        get = self.advances.get
        em = self.units_per_em
        return sum(get(ord(ch), em) for ch in text) * size / em


FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", os.path.expanduser("~/.local/share/fonts"))


def _font_file(family: str, bold: bool) -> tuple[str, int]:
    """The file and collection index of ``family`` (the Noto CJK files Debian's fonts-noto-cjk installs)."""
    from fontTools.ttLib import TTCollection, TTFont

    style = "Bold" if bold else "Regular"
    stem = family.replace(" ", "").split("CJK")[0] + "CJK"  # "Noto Sans CJK SC" -> NotoSansCJK*
    for root in FONT_DIRS:
        for path in sorted(glob.glob(os.path.join(root, "**", f"{stem}*-{style}.tt[cf]"), recursive=True)
                           + sorted(glob.glob(os.path.join(root, "**", f"{stem}*-{style}.otf"), recursive=True))):
            fonts = TTCollection(path, lazy=True).fonts if path.endswith(".ttc") else [TTFont(path, lazy=True)]
            for index, font in enumerate(fonts):
                if font["name"].getDebugName(1) == family:
                    return path, index
    raise LookupError(f"font not installed: {family} {style} (Debian: fonts-noto-cjk)")


@lru_cache(maxsize=4)
def font_metrics(family: str = FONT_FAMILY, bold: bool = False) -> FontMetrics:
    """The metrics of the font fontconfig (and so WeasyPrint) picks for ``family``."""
    from fontTools.ttLib import TTFont

    path, index = _font_file(family, bold)
    font = TTFont(path, fontNumber=index, lazy=True)
    hmtx = font["hmtx"].metrics
    advances = {code: hmtx[glyph][0] for code, glyph in font.getBestCmap().items()}
    units = font["head"].unitsPerEm
    font.close()
    return FontMetrics(advances, units)


# --- wrapping ---------------------------------------------------------------------------------------------

# A break may come before and after every CJK character; other runs of letters and digits stay whole
# unless they alone are wider than the line.
_CJK = "\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0002fa1f"
_CONTROLS = re.compile(r"[\t\r\x0b\x0c\x00-\x08\x0e-\x1f\x7f]")  # a tab would jump to a tab stop
_TOKENS = re.compile(rf"[{_CJK}]|[ \t]+|[^ \t{_CJK}]+")


def wrap(text: str, width: float, metrics: FontMetrics, size: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` points (a hard newline always breaks)."""
    lines: list[str] = []
    width += 1e-6  # widths computed as sums and differences of the same numbers must not lose to rounding
    for paragraph in str(text).split("\n"):
        if metrics.width(paragraph, size) <= width:
            lines.append(paragraph)
            continue
        line, used = "", 0.0
        for token in _TOKENS.findall(paragraph):
            token_width = metrics.width(token, size)
            if used + token_width <= width:
                line, used = line + token, used + token_width
                continue
            if token.isspace():  # a space at the end of a line is dropped, not carried over
                lines.append(line)
                line, used = "", 0.0
                continue
            if line:
                lines.append(line.rstrip())
                line, used = "", 0.0
            if token_width <= width:
                line, used = token, token_width
                continue
            for ch in token:  # a word wider than the line is cut between characters
                ch_width = metrics.width(ch, size)
                if used + ch_width > width and line:
                    lines.append(line)
                    line, used = "", 0.0
                line, used = line + ch, used + ch_width
        lines.append(line.rstrip())
    return lines or [""]


# --- the plan ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TableStyle:
    """Geometry of a printed list, in points; the CSS of :func:`table_html` is written from these numbers."""

    page_width: float = 297 * PT_PER_MM  # A4 landscape
    page_height: float = 210 * PT_PER_MM
    margin_top: float = 16 * PT_PER_MM
    margin_bottom: float = 18 * PT_PER_MM
    margin_side: float = 12 * PT_PER_MM
    font_size: float = 9.0
    line_height: float = 12.0
    pad_x: float = 1.5 * PT_PER_MM
    pad_y: float = 1.0 * PT_PER_MM
    rule: float = 0.6  # width of the table's lines
    title_size: float = 16.0
    title_line_height: float = 22.0
    title_gap: float = 2 * PT_PER_MM
    meta_gap: float = 4 * PT_PER_MM
    trailer_gap: float = 4 * PT_PER_MM
    trailer_size: float = 7.5
    trailer_line_height: float = 10.5
    running_size: float = 8.0
    # planned widths stay this far inside the cell, so a rounding or kerning difference never reaches a rule
    slack: float = 1.5
    # a planned page leaves this much of its height unused, for the same reason
    bottom_slack: float = 2.0

    @property
    def content_width(self) -> float:
        return self.page_width - 2 * self.margin_side

    @property
    def content_height(self) -> float:
        return self.page_height - self.margin_top - self.margin_bottom


@dataclass
class PlannedRow:
    number: int | None  # the serial number printed in the first column; None on a continuation piece
    lines: list[list[str]]  # lines[k] is the text of every column on line k (序号 included)
    height: float


@dataclass
class PlannedPage:
    number: int
    rows: list[PlannedRow] = field(default_factory=list)
    first: bool = False
    last: bool = False


@dataclass
class TablePlan:
    style: TableStyle
    columns: list[str]  # 序号 first
    widths: list[float]  # column widths in points, rules and padding included
    header: PlannedRow
    title_lines: list[str]
    meta_lines: list[str]
    trailer_lines: list[str]
    pages: list[PlannedPage]

    @property
    def title_height(self) -> float:
        s = self.style
        return len(self.title_lines) * s.title_line_height + s.title_gap + len(self.meta_lines) * s.line_height \
            + s.meta_gap

    @property
    def trailer_height(self) -> float:
        return self.style.trailer_gap + len(self.trailer_lines) * self.style.trailer_line_height


def _column_widths(natural: list[float], minimum: list[float], available: float) -> list[float]:
    """Natural widths when they fit (the rest shared out in proportion); otherwise the narrow columns keep
    theirs and the wide ones share what is left equally (water-filling), never below their minimum."""
    total = sum(natural)
    if total <= available:
        extra = available - total
        return [w + extra * w / total for w in natural]
    widths = list(natural)
    order = sorted(range(len(natural)), key=lambda i: natural[i])
    remaining, count = available, len(natural)
    for position, i in enumerate(order):
        share = remaining / (count - position)
        if natural[i] <= share:
            remaining -= natural[i]
            continue
        for j in order[position:]:
            widths[j] = max(minimum[j], share)
        break
    scale = available / sum(widths)  # minimums may overshoot: shrink everything in proportion
    return [w * scale for w in widths] if scale < 1 else widths


def plan_table(columns: list[str], rows: list[list], *, title: str, meta: str, trailer: str,
               style: TableStyle | None = None, number_header: str = "序号") -> TablePlan:
    """Plan every page: the rows it holds and every cell's lines. Rows are never cut unless one row alone is
    taller than an empty page (then it continues on the next page, its number printed once)."""
    style = style or TableStyle()
    regular = font_metrics(FONT_FAMILY, False)
    bold = font_metrics(FONT_FAMILY, True)
    size = style.font_size
    headers = [number_header, *[_CONTROLS.sub(" ", str(c)) for c in columns]]
    cells = [[str(n), *("" if v is None else _CONTROLS.sub(" ", str(v)) for v in row)]
             for n, row in enumerate(rows, start=1)]
    ncols = len(headers)
    cell_pad = 2 * style.pad_x + style.slack + style.rule
    width_of = regular.width
    natural = [bold.width(h, size) + cell_pad for h in headers]
    for row in cells:
        for k in range(ncols):
            value = row[k] if k < len(row) else ""
            w = width_of(value, size) if "\n" not in value else max(width_of(p, size) for p in value.split("\n"))
            if w + cell_pad > natural[k]:
                natural[k] = w + cell_pad
    minimum = [min(natural[k], 3 * size + cell_pad) for k in range(ncols)]
    widths = _column_widths(natural, minimum, style.content_width)
    inner = [w - cell_pad for w in widths]

    def lay_out(values: list[str], metrics: FontMetrics) -> PlannedRow:
        wrapped = [wrap(values[k] if k < len(values) else "", inner[k], metrics, size) for k in range(ncols)]
        count = max(len(c) for c in wrapped)
        lines = [[c[i] if i < len(c) else "" for c in wrapped] for i in range(count)]
        return PlannedRow(None, lines, count * style.line_height + 2 * style.pad_y + style.rule)

    header = lay_out(headers, bold)
    header.height += style.rule  # the header carries the table's top rule too
    text_width = style.content_width - style.slack
    title_lines = wrap(_CONTROLS.sub(" ", title), text_width, bold, style.title_size)
    meta_lines = wrap(_CONTROLS.sub(" ", meta), text_width, regular, size)
    trailer_lines = wrap(_CONTROLS.sub(" ", trailer), text_width, regular, style.trailer_size)
    plan = TablePlan(style, headers, widths, header, title_lines, meta_lines, trailer_lines, [])

    capacity = style.content_height - style.bottom_slack
    page = PlannedPage(1, first=True)
    used = plan.title_height + header.height
    for number, values in enumerate(cells, start=1):
        row = lay_out(values, regular)
        row.number = number
        pieces = [row]
        max_lines = int((capacity - header.height - 2 * style.pad_y - style.rule) // style.line_height)
        if len(row.lines) > max_lines:  # taller than an empty page: continue it on the next ones
            pieces = [PlannedRow(number if i == 0 else None, row.lines[i:i + max_lines],
                                 len(row.lines[i:i + max_lines]) * style.line_height + 2 * style.pad_y + style.rule)
                      for i in range(0, len(row.lines), max_lines)]
        for piece in pieces:
            # a page takes at least one row, except the first, whose title may leave too little room
            if used + piece.height > capacity and (page.rows or page.first):
                plan.pages.append(page)
                page = PlannedPage(page.number + 1)
                used = header.height
            page.rows.append(piece)
            used += piece.height
    if used + plan.trailer_height > capacity:
        plan.pages.append(page)
        page = PlannedPage(page.number + 1)
    page.last = True
    plan.pages.append(page)
    return plan


# --- HTML -------------------------------------------------------------------------------------------------

def _f(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _table_css(plan: TablePlan) -> str:
    s = plan.style
    row_heights = {len(r.lines) for p in plan.pages for r in p.rows} | {len(plan.header.lines)}
    lines = [
        f"@page {{ size: {_f(s.page_width)}pt {_f(s.page_height)}pt; margin: 0; }}",
        f"html, body {{ margin: 0; font-family: '{FONT_FAMILY}', sans-serif; font-size: {_f(s.font_size)}pt;"
        f" line-height: {_f(s.line_height)}pt; color: #000;"
        # no kerning and no ligatures: a line is exactly as wide as the sum of its measured advances
        " font-kerning: none; font-variant-ligatures: none; }",
        # a page is a block a little shorter than the sheet, so WeasyPrint never has a break to look for
        f".pg {{ position: relative; height: {_f(s.page_height - 1)}pt; overflow: hidden; break-after: page; }}",
        ".pg.end { break-after: auto; }",
        f".body {{ position: absolute; top: {_f(s.margin_top)}pt; left: {_f(s.margin_side)}pt;"
        f" width: {_f(s.content_width)}pt; }}",
        f".run {{ position: absolute; font-size: {_f(s.running_size)}pt; line-height: {_f(s.running_size * 1.3)}pt;"
        f" color: #555; white-space: pre; left: {_f(s.margin_side)}pt; width: {_f(s.content_width)}pt; }}",
        f".top {{ top: {_f(s.margin_top - 6 * PT_PER_MM)}pt; }}",
        f".bottom {{ top: {_f(s.page_height - s.margin_bottom + 5 * PT_PER_MM)}pt; }}",
        ".l { text-align: left; } .c { text-align: center; font-size: 9pt; color: #333; } .r { text-align: right; }",
        f"h1 {{ margin: 0 0 {_f(s.title_gap)}pt 0; text-align: center; font-size: {_f(s.title_size)}pt;"
        f" line-height: {_f(s.title_line_height)}pt; font-weight: bold; white-space: pre; }}",
        f".meta {{ margin: 0 0 {_f(s.meta_gap)}pt 0; text-align: center; color: #444; white-space: pre; }}",
        f".t {{ position: relative; border-top: {_f(s.rule)}pt solid #666; }}",
        f".row {{ box-sizing: border-box; padding: {_f(s.pad_y)}pt 0 0 {_f(s.pad_x + s.rule)}pt; overflow: hidden;"
        f" white-space: pre; border-bottom: {_f(s.rule)}pt solid #666; }}",
        ".hd { background: #eee; font-weight: bold; }",
        f".rule {{ position: absolute; top: 0; bottom: 0; width: 0; border-left: {_f(s.rule)}pt solid #666; }}",
        f".trailer {{ margin-top: {_f(s.trailer_gap)}pt; font-size: {_f(s.trailer_size)}pt;"
        f" line-height: {_f(s.trailer_line_height)}pt; color: #555; white-space: pre; }}",
    ]
    for count in sorted(row_heights):
        height = count * s.line_height + 2 * s.pad_y + s.rule
        lines.append(f".h{count} {{ height: {_f(height)}pt; }}")
    return "\n".join(lines)


EN_SPACE = "\u2002"


class _Gaps:
    """Fill the horizontal gap before a cell's text with spaces (U+0020 and the en space U+2002, both in the
    font), so a whole row is one run of text: WeasyPrint lays out and draws one text box per row instead of a
    box per cell. Two space widths combine to within about 0.3 pt of any gap at 9 pt."""

    def __init__(self, metrics: FontMetrics, size: float):
        self.space = metrics.advances.get(0x20, 224)
        self.en = metrics.advances.get(0x2002, metrics.units_per_em // 2)
        self.scale = size / metrics.units_per_em
        self.cache: dict[int, tuple[str, float]] = {}

    def fill(self, gap: float) -> tuple[str, float]:
        """The spaces closest to ``gap`` points, and their width."""
        target = round(gap / self.scale)
        if target in self.cache:
            return self.cache[target]
        best = (abs(target), 0, 0)
        for spaces in range(0, self.en // 2 + 1):
            rest = target - spaces * self.space
            if rest < -self.space:
                break
            ens = max(0, round(rest / self.en))
            error = abs(rest - ens * self.en)
            if error < best[0]:
                best = (error, spaces, ens)
        _, spaces, ens = best
        result = (EN_SPACE * ens + " " * spaces, (spaces * self.space + ens * self.en) * self.scale)
        self.cache[target] = result
        return result


def line_text(texts: list[str], starts: list[float], metrics: FontMetrics, size: float, gaps: _Gaps
              ) -> tuple[str, float]:
    """One line of a row as one string, and its width: each non-empty cell's text pushed to its column by
    spaces, measured from where the previous text really ends, so rounding never adds up along the line."""
    parts = []
    pen = 0.0
    for text, start in zip(texts, starts, strict=True):
        if not text:
            continue
        if start > pen:
            filler, width = gaps.fill(start - pen)
            parts.append(filler)
            pen += width
        parts.append(text)
        pen += metrics.width(text, size)
    return "".join(parts), pen


def _row_html(row: PlannedRow, starts: list[float], metrics: FontMetrics, size: float, gaps: _Gaps,
              extra: str = "") -> str:
    lines = "\n".join(html.escape(line_text(texts, starts, metrics, size, gaps)[0], quote=False)
                      for texts in row.lines)
    return f'<div class="row h{len(row.lines)}{extra}">{lines}</div>'


def table_html(plan: TablePlan, *, running_left: str, running_right: str, footer_right: str
               ) -> tuple[str, list[str]]:
    """The stylesheet and the HTML of every planned page (each page one block, to go in one ``<body>``)."""
    s = plan.style
    regular = font_metrics(FONT_FAMILY, False)
    bold = font_metrics(FONT_FAMILY, True)
    starts, x = [], 0.0
    for w in plan.widths:
        starts.append(x)
        x += w
    starts = [x - starts[0] for x in starts]  # relative to the first text position (the row's left padding)
    rules = "".join(f'<div class="rule" style="left:{_f(x)}pt"></div>'
                    for x in [sum(plan.widths[:k]) for k in range(len(plan.widths))] + [s.content_width - s.rule])
    gaps = _Gaps(regular, s.font_size)
    header = _row_html(plan.header, starts, bold, s.font_size, _Gaps(bold, s.font_size), " hd")
    esc = html.escape
    total = len(plan.pages)
    top = (f'<div class="run top l">{esc(running_left)}</div>'
           f'<div class="run top r">{esc(running_right)}</div>')
    pages = []
    for page in plan.pages:
        parts = [f'<div class="pg{" end" if page.last else ""}">', top,
                 f'<div class="run bottom c">第 {page.number} 页 共 {total} 页</div>',
                 f'<div class="run bottom r">{esc(footer_right)}</div>', '<div class="body">']
        if page.first:
            parts.append(f"<h1>{esc(chr(10).join(plan.title_lines))}</h1>")
            parts.append(f'<div class="meta">{esc(chr(10).join(plan.meta_lines))}</div>')
        parts.append('<div class="t">')
        parts.append(rules)
        parts.append(header)
        parts.extend(_row_html(row, starts, regular, s.font_size, gaps) for row in page.rows)
        parts.append("</div>")
        if page.last:
            parts.append(f'<div class="trailer">{esc(chr(10).join(plan.trailer_lines))}</div>')
        parts.append("</div></div>")
        pages.append("".join(parts))
    return _table_css(plan), pages
