"""Bodies are sanitised: no script, no event handlers, no javascript: links, no remote images."""

from __future__ import annotations

from exam.study.content import body_to_html, excerpt, highlight, html_to_text, sanitize_html

PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJ"
       "RU5ErkJggg==")


def test_sanitising_strips_script_event_handlers_javascript_links_and_remote_images():
    dirty = (
        '<p onclick="steal()">第一条<script>alert(1)</script></p>'
        '<img src="x" onerror="alert(2)">'
        '<a href="javascript:alert(3)">链接</a>'
        '<a href="JaVaScRiPt:alert(4)">链接2</a>'
        '<img src="https://evil.example/track.png">'
        '<img src="//evil.example/t.png">'
        '<iframe src="https://evil.example"></iframe>'
        '<style>body{display:none}</style>'
        '<a href="data:text/html,<script>alert(5)</script>">数据链接</a>'
    )
    clean = sanitize_html(dirty)
    lowered = clean.lower()
    for bad in ("<script", "onclick", "onerror", "javascript:", "evil.example", "<iframe", "<style", "data:text"):
        assert bad not in lowered, bad
    assert "第一条" in clean and "链接" in clean


def test_sanitising_keeps_safe_markup_embedded_and_same_site_images():
    source = (f'<h2>标题</h2><p><strong>重点</strong></p><table><tr><td>单元</td></tr></table>'
              f'<img src="{PNG}" alt="图"><img src="/static/img/logo.png" alt="标"><a href="https://www.gov.cn/">国务院</a>')
    clean = sanitize_html(source)
    assert "<h2>标题</h2>" in clean and "<strong>重点</strong>" in clean and "<td>单元</td>" in clean
    assert PNG in clean and 'src="/static/img/logo.png"' in clean
    assert 'href="https://www.gov.cn/"' in clean and 'rel="noopener noreferrer"' in clean


def test_markdown_bodies_are_rendered_then_sanitised():
    html = body_to_html("## 要点\n\n- 一\n- 二\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) "
                        '<a href="javascript:alert(2)">y</a>', "markdown")
    assert "<h2>要点</h2>" in html and "<li>一</li>" in html
    assert "<script" not in html and "alert(1)</script" not in html
    assert 'href="javascript' not in html.lower()


def test_plain_text_for_search_drops_tags_and_entities():
    assert html_to_text("<p>行政&amp;复议</p><p>第二段</p>") == "行政&复议\n第二段"


def test_highlight_escapes_everything_before_marking_matches():
    marked = str(highlight("<b>行政复议</b>与复议", "复议"))
    assert marked == "&lt;b&gt;行政<mark>复议</mark>&lt;/b&gt;与<mark>复议</mark>"
    assert "<mark>" in str(excerpt("很长的正文" * 40 + "电梯安全" + "结尾", "电梯安全"))
