from __future__ import annotations

import io

import pytest

from exam import i18n


@pytest.mark.parametrize("status,path", [(404, "/no-such-page"), (405, "/logout")])
def test_error_pages_are_in_chinese_by_default(client, status, path):
    response = client.get(path)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert "返回首页" in html
    assert '<meta name="csrf-token"' in html


def test_error_pages_follow_accept_language_english(client):
    response = client.get("/no-such-page", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert response.status_code == 404
    assert "Back to the home page" in response.get_data(as_text=True)


def test_api_errors_are_json_with_code_and_message(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert set(response.get_json()["error"]) >= {"code", "message"}


def test_oversized_upload_gets_413_page(app, client, make_user):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    client.login_as(make_user(roles=["hr"]))
    token = client.csrf_token()
    response = client.post("/admin/roster", data={"csrf_token": token, "file": (io.BytesIO(b"x" * 4096), "big.xlsx")})
    assert response.status_code == 413
    assert "文件过大" in response.get_data(as_text=True)


def test_unexpected_exception_gives_500_page_and_rolls_back(app, client):
    from exam.core.access import public

    @app.route("/boom")
    @public
    def boom():
        raise RuntimeError("boom")

    response = client.get("/boom")
    assert response.status_code == 500
    assert "服务器错误" in response.get_data(as_text=True)


def test_chinese_dates_are_shown_the_chinese_way(app):
    from datetime import date, datetime

    from exam.core.template_helpers import _date, _datetime

    with app.test_request_context("/"):
        assert _date(date(2026, 12, 1)) == "2026年12月1日"
        # stored as UTC, shown in Asia/Shanghai
        assert _datetime(datetime(2026, 12, 1, 1, 30), "short") == "2026-12-01 09:30"


@pytest.mark.parametrize("catalog_dir", [c for c in i18n.CATALOGS if i18n.po_path(c, "zh").exists()])
def test_every_interface_string_has_a_chinese_translation(catalog_dir):
    extracted = {m.id for m in i18n.extract(catalog_dir) if m.id}
    catalog = i18n.load(catalog_dir, "zh")
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(str(m) for m in extracted - translated)
    assert not missing, f"untranslated in {catalog_dir} (run `flask i18n update` and translate): {missing[:10]}"


def test_every_source_folder_with_strings_has_a_catalog():
    for catalog_dir in i18n.CATALOGS:
        if len(i18n.extract(catalog_dir)):
            assert i18n.po_path(catalog_dir, "zh").exists(), catalog_dir


def test_a_message_shared_by_two_catalogues_is_translated_the_same_way():
    """Catalogues are merged at run time; the last one loaded would silently win a disagreement."""
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for catalog_dir in i18n.CATALOGS:
        catalog = i18n.load(catalog_dir, "zh")
        if catalog is None:
            continue
        for message in catalog:
            if not message.id or not message.string:
                continue
            key = f"{message.context or ''}|{message.id}"
            if key in seen and seen[key][1] != message.string:
                clashes.append(f"{key!r}: {seen[key][0]} {seen[key][1]!r} vs {catalog_dir} {message.string!r}")
            seen.setdefault(key, (catalog_dir, message.string))
    assert not clashes, "\n".join(clashes)
