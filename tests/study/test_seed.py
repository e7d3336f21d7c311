from __future__ import annotations

import random

from sqlalchemy import func, select

from exam.extensions import db
from exam.study.models import Bulletin, ReadReceipt, TrainingSession


def test_the_demo_seed_adds_eight_published_bulletins_sessions_and_reading_records(ctx):
    import exam.accounts.seed as accounts_seed
    import exam.study.seed as study_seed
    from exam.core.timeutil import local_today

    rng = random.Random(7)
    accounts_seed.seed(rng)
    lines = study_seed.seed(rng)
    db.session.commit()
    bulletins = db.session.scalars(select(Bulletin).order_by(Bulletin.number)).all()
    assert [b.issue_label for b in bulletins] == [f"{local_today().year}年第{n}期" for n in range(1, 9)]
    assert all(b.status == "published" and b.laws and b.body_html for b in bulletins)
    assert db.session.scalar(select(func.count()).select_from(ReadReceipt)) > 0
    assert db.session.scalar(select(func.count()).select_from(TrainingSession)) >= 1
    assert "8 bulletins" in lines[0]
