"""Drawing papers: the drawable pool in one SQL query per section, a seeded sample, seeded option shuffles.

Everything random comes from ``random.Random`` seeded with strings derived from the attempt's seed, per
section and per question, so the same seed, pool and question versions always rebuild the same paper.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, or_, select

from exam.extensions import db
from question_bank.models import Category, Law, Question, QuestionVersion, Tag, question_tags
from question_bank.types import OPTION_KEYS


@dataclass
class ResolvedFilters:
    category_ids: list[int] | None = None  # None: any category
    tag_ids: list[int] | None = None
    law_ids: list[int] | None = None
    difficulty: tuple[int, int] = (1, 5)
    unknown: list[str] = field(default_factory=list)


def _category_index() -> tuple[dict[str, list[int]], dict[int, list[int]]]:
    """Names and paths -> ids, and id -> children ids (one query; the category tree is small)."""
    rows = db.session.execute(select(Category.id, Category.name, Category.parent_id)).all()
    by_id = {r.id: r for r in rows}
    children: dict[int, list[int]] = {}
    for r in rows:
        if r.parent_id is not None:
            children.setdefault(r.parent_id, []).append(r.id)
    names: dict[str, list[int]] = {}
    for r in rows:
        parts, node, seen = [], r, set()
        while node is not None and node.id not in seen:
            seen.add(node.id)
            parts.append(node.name)
            node = by_id.get(node.parent_id) if node.parent_id is not None else None
        names.setdefault(r.name, []).append(r.id)
        names.setdefault("/".join(reversed(parts)), []).append(r.id)
    return names, children


def resolve_filters(filters: dict) -> ResolvedFilters:
    """Names in a section's filter to ids; categories include their sub-categories."""
    result = ResolvedFilters()
    categories = [str(c).strip() for c in filters.get("categories") or [] if str(c).strip()]
    if categories:
        names, children = _category_index()
        ids: set[int] = set()
        for name in categories:
            found = names.get(name.replace(" / ", "/"))
            if not found:
                result.unknown.append(name)
                continue
            stack = list(found)
            while stack:
                cid = stack.pop()
                if cid not in ids:
                    ids.add(cid)
                    stack.extend(children.get(cid, []))
        result.category_ids = sorted(ids)
    tags = [str(t).strip() for t in filters.get("tags") or [] if str(t).strip()]
    if tags:
        rows = db.session.execute(select(Tag.id, Tag.name).where(Tag.name.in_(tags))).all()
        result.unknown.extend(t for t in tags if t not in {r.name for r in rows})
        result.tag_ids = sorted(r.id for r in rows)
    laws = [str(law).strip() for law in filters.get("laws") or [] if str(law).strip()]
    if laws:
        rows = db.session.execute(
            select(Law.id, Law.name, Law.short_name).where(or_(Law.name.in_(laws), Law.short_name.in_(laws)))
        ).all()
        known = {r.name for r in rows} | {r.short_name for r in rows}
        result.unknown.extend(law for law in laws if law not in known)
        result.law_ids = sorted(r.id for r in rows)
    difficulty = filters.get("difficulty") or [1, 5]
    result.difficulty = (int(difficulty[0]), int(difficulty[1]))
    return result


def drawable_ids(qtype: str, filters: ResolvedFilters, day: date) -> list[int]:
    """Ids of active, reviewed questions of a type matching the filter, citing no law amended or repealed
    on or before ``day`` — one SQL query, sorted (the order the seeded sample is taken from)."""
    stmt = (
        select(Question.id)
        .outerjoin(Law, Law.id == Question.law_id)
        .where(
            Question.type == qtype,
            Question.status == "active",
            Question.needs_review.is_(False),
            Question.difficulty.between(*filters.difficulty),
            or_(
                Question.law_id.is_(None),
                and_(or_(Law.amended_on.is_(None), Law.amended_on > day),
                     or_(Law.repealed_on.is_(None), Law.repealed_on > day)),
            ),
        )
        .order_by(Question.id)
    )
    if filters.category_ids is not None:
        stmt = stmt.where(Question.category_id.in_(filters.category_ids))
    if filters.law_ids is not None:
        stmt = stmt.where(Question.law_id.in_(filters.law_ids))
    if filters.tag_ids is not None:
        stmt = stmt.where(
            Question.id.in_(select(question_tags.c.question_id).where(question_tags.c.tag_id.in_(filters.tag_ids)))
        )
    return list(db.session.scalars(stmt))


def pool_digest(ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, sorted(ids))).encode()).hexdigest()


def draw_section(seed: int, position: int, pool: list[int], exclude: set[int], seen: set[int],
                 count: int) -> list[int]:
    """``count`` ids from ``pool`` minus ``exclude``, unseen ones first, in a seeded random order."""
    rng = random.Random(f"{seed}:section:{position}")
    candidates = [q for q in pool if q not in exclude]
    unseen = [q for q in candidates if q not in seen]
    already_seen = [q for q in candidates if q in seen]
    chosen = rng.sample(unseen, min(count, len(unseen)))
    if len(chosen) < count:
        chosen += rng.sample(already_seen, min(count - len(chosen), len(already_seen)))
    return chosen


def shuffle_options(seed: int, question_id: int, options: list[dict]) -> list[str]:
    """The permutation shown: displayed A, B, ... -> original key."""
    keys = [o["key"] for o in options or []]
    random.Random(f"{seed}:options:{question_id}").shuffle(keys)
    return keys


def current_versions(question_ids: list[int]) -> dict[int, QuestionVersion]:
    if not question_ids:
        return {}
    rows = db.session.scalars(
        select(QuestionVersion)
        .join(Question, and_(Question.id == QuestionVersion.question_id,
                             QuestionVersion.number == Question.current_number))
        .where(Question.id.in_(question_ids))
    ).all()
    return {v.question_id: v for v in rows}


def displayed_options(version: QuestionVersion, option_order: list[str]) -> list[dict]:
    texts = {o["key"]: o.get("text", "") for o in version.options or []}
    return [{"key": OPTION_KEYS[i], "text": texts.get(orig, "")} for i, orig in enumerate(option_order)]
