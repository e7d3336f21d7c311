"""Fixtures for the study area: where uploads land, and a bulletin factory."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from exam.extensions import db


@pytest.fixture
def upload_dir(app) -> Path:
    return Path(app.instance_path) / "uploads" / "bulletins"


@pytest.fixture
def make_bulletin(app):
    """Create (and by default publish) a bulletin through the operations; returns its id."""
    from exam.accounts.operations import find_department
    from exam.study import operations as ops

    def _make(title="学习材料", *, body="正文", summary="", departments=(), required_by=None,
              hours=Decimal("2"), publish=True, year=2026, number=None, fmt="markdown"):
        with app.test_request_context():
            depts = [find_department(d) for d in departments]
            bulletin = ops.create_bulletin(
                ops.BulletinData(year=year, number=number, title=title, summary=summary, body_source=body,
                                 body_format=fmt, audience="departments" if depts else "all", departments=depts,
                                 required_by=required_by, hours=hours),
                by=None,
            )
            if publish:
                ops.publish_bulletin(bulletin)
            db.session.commit()
            return bulletin.id

    return _make

