"""Drawing papers: one SQL query per section picks the questions by a seeded rank; options are shuffled by
``random.Random`` seeded with the attempt's seed and the question id. The same seed, the bank as it was and
the recorded question versions always rebuild the same paper.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import BigInteger, and_, case, cast, literal, or_, select

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


def resolve_filters(filters: dict, cache: dict | None = None) -> ResolvedFilters:
    """Names in a section's filter to ids; categories include their sub-categories. ``cache`` keeps the
    category tree between the sections of one paper."""
    result = ResolvedFilters()
    categories = [str(c).strip() for c in filters.get("categories") or [] if str(c).strip()]
    if categories:
        if cache is None:
            cache = {}
        if "categories" not in cache:
            cache["categories"] = _category_index()
        names, children = cache["categories"]
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


def _drawable_stmt(qtype: str | list[str], filters: ResolvedFilters, day: date,
                   created_before: datetime | None = None, include: list[int] | None = None):
    conditions = [
        Question.type == qtype if isinstance(qtype, str) else Question.type.in_(qtype),
        Question.status == "active",
        Question.needs_review.is_(False),
        Question.difficulty.between(*filters.difficulty),
        or_(
            Question.law_id.is_(None),
            and_(or_(Law.amended_on.is_(None), Law.amended_on > day),
                 or_(Law.repealed_on.is_(None), Law.repealed_on > day)),
        ),
    ]
    if filters.category_ids is not None:
        conditions.append(Question.category_id.in_(filters.category_ids))
    if filters.law_ids is not None:
        conditions.append(Question.law_id.in_(filters.law_ids))
    if filters.tag_ids is not None:
        conditions.append(Question.id.in_(
            select(question_tags.c.question_id).where(question_tags.c.tag_id.in_(filters.tag_ids))))
    if created_before is not None:
        conditions.append(Question.created_at <= created_before)
    where = and_(*conditions)
    if include:
        where = or_(where, Question.id.in_(include))
    return select(Question.id).outerjoin(Law, Law.id == Question.law_id).where(where)


def drawable_ids(qtype: str | list[str], filters: ResolvedFilters, day: date) -> list[int]:
    """Ids of active, reviewed questions of a type matching the filter, citing no law amended or repealed
    on or before ``day`` — one SQL query, sorted."""
    return list(db.session.scalars(_drawable_stmt(qtype, filters, day).order_by(Question.id)))


# --- the seeded draw ---------------------------------------------------------------------------------------
# Each candidate question gets a pseudo-random rank computed IN SQL from (seed, section, question id); the paper
# takes the lowest ranks, questions the person has not seen first. The database returns just ``count`` ids: no
# pool is loaded into Python. Because a question's rank does not depend on the rest of the pool, questions
# added to the bank after the draw (or retired without having been chosen) do not change what the seed
# picks, so the paper can be rebuilt later for an appeal.
DRAW_METHOD = "seeded-rank-v1"
PRIME = 2_147_483_647  # 2^31 - 1: every intermediate product stays below 2^62 (64-bit integers everywhere)


def rank_params(seed: int, position: int) -> tuple[int, int, int, int]:
    digest = hashlib.sha256(f"{seed}:{position}".encode()).digest()
    return tuple(int.from_bytes(digest[i * 4:(i + 1) * 4], "big") % (PRIME - 1) + 1 for i in range(4))


def rank_expression(params: tuple[int, int, int, int]):
    a, b, c, d = (literal(v, BigInteger) for v in params)
    x = (cast(Question.id, BigInteger) * a + b) % PRIME
    return (((x * x + c) % PRIME) * d) % PRIME


def rank_in_python(question_id: int, params: tuple[int, int, int, int]) -> int:
    """The same rank as ``rank_expression`` (for tests and explanations)."""
    a, b, c, d = params
    x = (question_id * a + b) % PRIME
    return (((x * x + c) % PRIME) * d) % PRIME


def draw_section(qtype: str, filters: ResolvedFilters, day: date, *, seed: int, position: int, count: int,
                 exclude: set[int], seen: set[int], created_before: datetime | None = None,
                 include: list[int] | None = None) -> list[int]:
    """One SQL query: the ``count`` drawable questions with the lowest seeded rank, unseen ones first,
    none of ``exclude`` (already in the paper). ``created_before``/``include`` rebuild an earlier draw."""
    stmt = _drawable_stmt(qtype, filters, day, created_before, include)
    if exclude:
        stmt = stmt.where(Question.id.not_in(sorted(exclude)))
    seen_first = case((Question.id.in_(sorted(seen)), 1), else_=0) if seen else literal(0)
    stmt = stmt.order_by(seen_first, rank_expression(rank_params(seed, position)), Question.id).limit(count)
    return list(db.session.scalars(stmt))


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
