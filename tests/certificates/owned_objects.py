"""Owned objects of the certificates area, for the authorisation matrix."""

from __future__ import annotations

import io

from PIL import Image

from tests.security.owned import owned_object


@owned_object("certificates.photo", "GET")
def holder_photo(app, owner):
    from exam.accounts.models import User
    from exam.certificates.operations import set_photo
    from exam.extensions import db

    buffer = io.BytesIO()
    Image.new("RGB", (60, 80), "navy").save(buffer, "PNG")
    with app.test_request_context(method="POST"):
        set_photo(db.session.get(User, owner.id), buffer.getvalue())
        db.session.commit()
    return f"/certificates/people/{owner.id}/photo.jpg"
