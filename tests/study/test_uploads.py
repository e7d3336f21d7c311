"""Hostile uploads are refused with a clear message and leave nothing behind; good ones are served safely."""

from __future__ import annotations

import io

import pytest

from exam.study.models import Bulletin
from tests.helpers import count_rows
from tests.study.samples import MINIMAL_PDF, make_docx, make_zip, stored_files

MB = 1024 * 1024


def _post_bulletin(client, filename, data, **fields):
    form = {"year": "2026", "number": "", "title": "上传测试", "summary": "", "body_format": "markdown",
            "body_source": "", "audience": "all", "hours": "1",
            "original": (io.BytesIO(data), filename), **fields}
    return client.post_form("/study/manage/new", form, content_type="multipart/form-data")


@pytest.fixture
def legal_client(client, make_user):
    client.login_as(make_user("legal1", roles=["legal"], department="法规科"))
    return client


def _assert_nothing_left(app, upload_dir):
    assert stored_files(upload_dir) == []
    with app.app_context():
        assert count_rows(Bulletin) == 0


def test_a_pdf_that_is_really_html_is_refused(app, legal_client, upload_dir):
    response = _post_bulletin(legal_client, "通知.pdf", b"<html><script>alert(1)</script></html>")
    assert response.status_code == 422
    assert "不是" in response.get_data(as_text=True) and "PDF" in response.get_data(as_text=True)
    _assert_nothing_left(app, upload_dir)


def test_a_docx_that_is_not_a_word_file_is_refused(app, legal_client, upload_dir):
    not_word = make_zip({"[Content_Types].xml": b"<Types/>", "readme.txt": b"hello"})
    response = _post_bulletin(legal_client, "材料.docx", not_word)
    assert response.status_code == 422
    assert "Word" in response.get_data(as_text=True)
    _assert_nothing_left(app, upload_dir)


def test_a_zip_bomb_is_refused_before_it_is_expanded(app, legal_client, upload_dir):
    bomb = make_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"0" * (120 * MB)})
    assert len(bomb) < 20 * MB
    response = _post_bulletin(legal_client, "炸弹.docx", bomb)
    assert response.status_code == 422
    assert "压缩" in response.get_data(as_text=True)
    _assert_nothing_left(app, upload_dir)


def test_a_small_file_with_an_extreme_compression_ratio_is_refused(app, legal_client, upload_dir):
    bomb = make_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b" " * (5 * MB)})
    response = _post_bulletin(legal_client, "比例.docx", bomb)
    assert response.status_code == 422
    _assert_nothing_left(app, upload_dir)


def test_an_oversize_file_gets_413_with_a_clear_page(app, legal_client, upload_dir):
    big = MINIMAL_PDF + b"0" * (20 * MB)
    response = _post_bulletin(legal_client, "大文件.pdf", big)
    assert response.status_code == 413
    assert "20 MB" in response.get_data(as_text=True)
    _assert_nothing_left(app, upload_dir)


def test_a_request_above_the_global_limit_gets_413(app, legal_client, upload_dir):
    response = _post_bulletin(legal_client, "巨大.pdf", MINIMAL_PDF + b"0" * (26 * MB))
    assert response.status_code == 413
    assert "文件" in response.get_data(as_text=True)
    _assert_nothing_left(app, upload_dir)


@pytest.mark.parametrize("name", ["../../etc/passwd.pdf", "../evil.pdf", "sub/dir.pdf"])
def test_a_file_name_with_a_path_is_refused(app, legal_client, upload_dir, name):
    response = _post_bulletin(legal_client, name, MINIMAL_PDF)
    assert response.status_code == 422
    assert "../" in response.get_data(as_text=True)
    _assert_nothing_left(app, upload_dir)


def test_a_refusal_after_the_file_was_written_removes_it(app, legal_client, upload_dir, make_bulletin):
    make_bulletin("已有", number=1)
    response = _post_bulletin(legal_client, "重复.pdf", MINIMAL_PDF, number="1")
    assert response.status_code == 422
    assert "已存在" in response.get_data(as_text=True)
    assert stored_files(upload_dir) == []
    with app.app_context():
        assert count_rows(Bulletin) == 1


def test_a_pdf_is_stored_under_a_generated_name_and_served_safely(app, legal_client, upload_dir, make_user,
                                                                  client):
    response = _post_bulletin(legal_client, "电梯安全 通知.pdf", MINIMAL_PDF)
    assert response.status_code == 302
    (name,) = stored_files(upload_dir)
    assert name.endswith(".pdf") and "电梯" not in name
    assert "static" not in str(upload_dir)
    with app.app_context():
        bulletin_id = Bulletin.query.one().id

    download = legal_client.get(f"/study/{bulletin_id}/original")
    assert download.status_code == 200 and download.data == MINIMAL_PDF
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "filename*=UTF-8''" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["X-Frame-Options"] == "DENY"

    inline = legal_client.get(f"/study/{bulletin_id}/original/view")
    assert inline.status_code == 200 and inline.mimetype == "application/pdf"
    assert inline.headers["Content-Disposition"].startswith("inline")
    assert inline.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert inline.headers["Content-Security-Policy"] == "frame-ancestors 'self'"
    assert inline.headers["X-Content-Type-Options"] == "nosniff"
    # the reading page keeps the strict global policy
    page = legal_client.get(f"/study/{bulletin_id}")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert f'src="/study/{bulletin_id}/original/view"' in page.get_data(as_text=True)


def test_the_original_is_served_only_to_the_audience_and_legal(app, client, make_user, make_bulletin, upload_dir):
    legal = make_user("legal1", roles=["legal"], department="法规科")
    client.login_as(legal)
    _post_bulletin(client, "a.pdf", MINIMAL_PDF, audience="departments")  # no department: refused
    assert stored_files(upload_dir) == []
    with app.app_context():
        from exam.accounts.operations import ensure_department
        from exam.extensions import db

        dept = ensure_department("市局/稽查科")
        db.session.commit()
        dept_id = dept.id
    response = _post_bulletin(client, "a.pdf", MINIMAL_PDF, audience="departments", department_ids=str(dept_id))
    assert response.status_code == 302
    with app.app_context():
        bulletin_id = Bulletin.query.one().id
    client.post_form(f"/study/manage/{bulletin_id}/publish")
    inside = make_user("in1", department="市局/稽查科")
    outside = make_user("out1", department="市局/计量科")
    client.login_as(outside)
    assert client.get(f"/study/{bulletin_id}/original").status_code == 404
    assert client.get(f"/study/{bulletin_id}/original/view").status_code == 404
    assert client.get(f"/study/{bulletin_id}").status_code == 404
    client.login_as(inside)
    assert client.get(f"/study/{bulletin_id}/original").status_code == 200


def test_a_docx_is_converted_and_its_text_searchable(app, legal_client, upload_dir):
    response = _post_bulletin(legal_client, "复议.docx", make_docx(["行政复议案件办理流程", "<script>x</script>"]))
    assert response.status_code == 302
    with app.app_context():
        bulletin = Bulletin.query.one()
        assert bulletin.original_kind == "docx"
        assert "行政复议案件办理流程" in bulletin.original_html
        assert "<script" not in bulletin.original_html
        assert "行政复议" in bulletin.search_text


def test_replacing_the_original_deletes_the_old_file_after_commit(app, legal_client, upload_dir):
    _post_bulletin(legal_client, "一.pdf", MINIMAL_PDF)
    (first,) = stored_files(upload_dir)
    with app.app_context():
        bulletin_id = Bulletin.query.one().id
    form = {"year": "2026", "number": "1", "title": "上传测试", "body_format": "markdown", "body_source": "",
            "audience": "all", "hours": "1", "original": (io.BytesIO(make_docx(["新版"])), "二.docx")}
    response = legal_client.post_form(f"/study/manage/{bulletin_id}/edit", form, content_type="multipart/form-data")
    assert response.status_code == 302
    files = stored_files(upload_dir)
    assert len(files) == 1 and files[0] != first and files[0].endswith(".docx")


@pytest.mark.parametrize("name", ["..\\..\\win.pdf", "../x.pdf", "a/../b.pdf", "x\x00.pdf"])
def test_the_upload_checker_refuses_any_name_carrying_a_path(ctx, name):
    from werkzeug.datastructures import FileStorage

    from exam.core import uploads

    with pytest.raises(uploads.UploadRejected):
        uploads.check_upload(FileStorage(io.BytesIO(MINIMAL_PDF), filename=name), {"pdf"}, MB)


def test_the_upload_checker_identifies_content_not_names(ctx):
    from exam.core import uploads

    assert uploads.check_file(MINIMAL_PDF, "x.docx", {"pdf"}).kind == "pdf"
    assert uploads.check_file(make_docx(["a"]), "x.pdf", {"docx"}).kind == "docx"
    with pytest.raises(uploads.UploadRejected):
        uploads.check_file(b"%PDF-1.4 but really nothing", "x.pdf", {"docx"})
    with pytest.raises(uploads.UploadRejected):
        uploads.check_file(b"PK\x03\x04 broken zip", "x.docx", {"docx"})
