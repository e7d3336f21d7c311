"""Charts drawn on the server as SVG with pygal (Chinese labels). The same SVG is embedded in the page and in
the PDF as a ``data:`` image: the page's CSP allows ``data:`` images, and an image runs no script."""

from __future__ import annotations

import base64
import re

import pygal
from flask_babel import gettext as _
from pygal.style import Style

FONT = "'Noto Sans CJK SC', 'Noto Sans SC', 'Microsoft YaHei', sans-serif"
STYLE = Style(font_family=FONT, label_font_family=FONT, title_font_family=FONT, legend_font_family=FONT,
              major_label_font_family=FONT, value_font_family=FONT, tooltip_font_family=FONT,
              background="white", plot_background="white", foreground="#333", foreground_strong="#111",
              foreground_subtle="#ccc", colors=("#2f5d8a", "#c0392b", "#27ae60", "#8e44ad", "#e67e22"),
              title_font_size=16, label_font_size=12, major_label_font_size=12, legend_font_size=12,
              value_font_size=11)
CONFIG = {"style": STYLE, "js": [], "width": 640, "height": 320, "explicit_size": True,
          "disable_xml_declaration": False, "print_values": True, "pretty_print": False}


_SCRIPT = re.compile(rb"<script\b.*?</script>", re.S)
_CHART_ID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _svg(chart) -> bytes:
    """The SVG without pygal's config script (an image never runs it) and with a stable id, so the page and
    the PDF embed byte-identical pictures."""
    svg = _SCRIPT.sub(b"", chart.render())
    ids = set(_CHART_ID.findall(svg))
    for n, found in enumerate(sorted(ids)):
        svg = svg.replace(found, b"report-%d" % n)
    return svg


def data_uri(svg: bytes) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def histogram(labels: list[str], counts: list[int]) -> bytes:
    chart = pygal.Bar(title=_("Score distribution"), show_legend=False, x_label_rotation=30,
                      x_title=_("Score (percent of the maximum)"), y_title=_("People"), **CONFIG)
    chart.x_labels = labels
    chart.add(_("People"), counts)
    return _svg(chart)


def bands(items: list[tuple[str, int]]) -> bytes:
    chart = pygal.Bar(title=_("Grade bands"), show_legend=False, y_title=_("People"), **CONFIG)
    chart.x_labels = [name for name, _n in items]
    chart.add(_("People"), [n for _name, n in items])
    return _svg(chart)


def rates(labels: list[str], participation: list[float | None], passing: list[float | None]) -> bytes:
    chart = pygal.Line(title=_("Participation and pass rates"), range=(0, 100), x_label_rotation=30,
                       y_title="%", value_formatter=lambda v: f"{v:.0f}%", **CONFIG)
    chart.x_labels = labels
    chart.add(_("Participation rate"), [None if v is None else round(v * 100, 1) for v in participation])
    chart.add(_("Pass rate"), [None if v is None else round(v * 100, 1) for v in passing])
    return _svg(chart)
