"""Question-bank operations: they flush but never commit; rule violations raise DomainError subclasses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, false, or_, select, true
from sqlalchemy.orm import selectinload

from exam.core import audit
from exam.core.errors import DomainError, NotFound
from exam.extensions import db
from question_bank.models import QUESTION_STATUSES, Category, Law, Question, QuestionVersion, Tag, question_tags
from question_bank.types import OPTION_KEYS, QUESTION_TYPES, normalise_stem

STEM_KEY_LENGTH = 255


class QuestionError(DomainError):
    """A question that breaks a rule of its type or of the bank."""


# --- categories, tags, laws ---------------------------------------------------------------------------

def split_path(path: str) -> list[str]:
    return [p.strip() for p in re.split(r"\s*[/／>＞\\]\s*", path or "") if p.strip()]


def find_category(path: str) -> Category | None:
    """The category at ``公共法律知识/行政处罚`` (names separated by / ), or None."""
    node = None
    for name in split_path(path):
        stmt = select(Category).where(Category.name == name)
        stmt = stmt.where(Category.parent_id.is_(None) if node is None else Category.parent_id == node.id)
        node = db.session.scalar(stmt)
        if node is None:
            return None
    return node


def ensure_category(path: str) -> Category | None:
    """The category at ``path``, creating the missing levels. An empty path is no category."""
    node = None
    for name in split_path(path):
        if len(name) > 100:
            raise QuestionError(_("A category name may have at most 100 characters."))
        stmt = select(Category).where(Category.name == name)
        stmt = stmt.where(Category.parent_id.is_(None) if node is None else Category.parent_id == node.id)
        child = db.session.scalar(stmt)
        if child is None:
            child = Category(name=name, parent=node, sort_order=0)
            db.session.add(child)
            db.session.flush()
        node = child
    return node


def save_category(category: Category | None, *, name: str, parent: Category | None, sort_order: int = 0) -> Category:
    name = (name or "").strip()
    if not name or "/" in name:
        raise QuestionError(_("A category needs a name without “/”."))
    node = parent
    while node is not None:
        if category is not None and node.id == category.id:
            raise QuestionError(_("A category cannot be moved under itself."))
        node = node.parent
    stmt = select(Category).where(Category.name == name)
    stmt = stmt.where(Category.parent_id.is_(None) if parent is None else Category.parent_id == parent.id)
    clash = db.session.scalar(stmt)
    if clash is not None and clash is not category:
        raise QuestionError(_("A category with this name already exists at that place."))
    if category is None:
        category = Category(name=name)
        db.session.add(category)
    category.name, category.parent, category.sort_order = name, parent, sort_order
    db.session.flush()
    return category


def delete_category(category: Category) -> None:
    used = db.session.scalar(select(Question.id).where(Question.category_id == category.id).limit(1))
    if used is not None or category.children:
        raise QuestionError(_("Only an empty category without subcategories can be deleted."))
    db.session.delete(category)
    db.session.flush()


def split_tags(text: str) -> list[str]:
    return list(dict.fromkeys(t.strip()[:64] for t in re.split(r"[,，、;；\s]+", text or "") if t.strip()))


def ensure_tags(names: list[str]) -> list[Tag]:
    names = [n[:64] for n in dict.fromkeys(n.strip() for n in names) if n]
    if not names:
        return []
    existing = {t.name: t for t in db.session.scalars(select(Tag).where(Tag.name.in_(names)))}
    for name in names:
        if name not in existing:
            existing[name] = Tag(name=name)
            db.session.add(existing[name])
    db.session.flush()
    return [existing[n] for n in names]


_NUMBER = "零〇一二三四五六七八九十百千0-9０-９"
ARTICLE = re.compile(rf"第[{_NUMBER}]+条(?:之[{_NUMBER}]+)?(?:第[{_NUMBER}]+款)?(?:第[{_NUMBER}]+项)?")


def split_citation(text: str) -> tuple[str, str | None]:
    """'《中华人民共和国行政处罚法》第三十二条' -> ('中华人民共和国行政处罚法', '第三十二条').

    Only the first law and its first article are kept when a cell cites several.
    """
    text = re.sub(r"\s+", "", text or "")
    if not text:
        return "", None
    quoted = re.search(r"[《〈<]([^》〉>]+)[》〉>]", text)
    if quoted:
        name, rest = quoted.group(1), text[quoted.end():]
    else:
        found = ARTICLE.search(text)
        name, rest = (text[: found.start()], text[found.start():]) if found else (text, "")
        name = re.split(r"[、,，;；]", name)[0]
    article = ARTICLE.match(rest)
    return name.strip(), article.group(0) if article else None


def find_law(name: str) -> Law | None:
    name = (name or "").strip().strip("《》")
    if not name:
        return None
    law = db.session.scalar(select(Law).where(or_(Law.name == name, Law.short_name == name)))
    if law is None and not name.startswith("中华人民共和国"):
        law = db.session.scalar(select(Law).where(Law.name == "中华人民共和国" + name))
    return law


def ensure_law(name: str) -> Law | None:
    name = (name or "").strip().strip("《》")
    if not name:
        return None
    if len(name) > 200:
        raise QuestionError(_("A law's name may have at most 200 characters."))
    law = find_law(name)
    if law is None:
        short = name.removeprefix("中华人民共和国")
        law = Law(name=name, short_name=short[:64] if short != name else None)
        db.session.add(law)
        db.session.flush()
    return law


def save_law(law: Law | None, *, name: str, short_name: str | None, effective_on: date | None,
             amended_on: date | None, repealed_on: date | None) -> Law:
    """Create or edit a law; a new amended/repealed date sends its questions to review."""
    name = (name or "").strip()
    if not name:
        raise QuestionError(_("A law needs a name."))
    clash = db.session.scalar(select(Law).where(Law.name == name))
    if clash is not None and clash is not law:
        raise QuestionError(_("A law with this name already exists."))
    if law is None:
        law = Law(name=name)
        db.session.add(law)
    before = _law_state(law)
    law.name, law.short_name, law.effective_on = name, (short_name or "").strip() or None, effective_on
    db.session.flush()
    if amended_on != law.amended_on or repealed_on != law.repealed_on:
        mark_law_changed(law, amended_on=amended_on, repealed_on=repealed_on)
    audit.record("law.save", law, before=before, after=_law_state(law))
    return law


def _law_state(law: Law) -> dict:
    return {"name": law.name, "short_name": law.short_name, "effective_on": law.effective_on,
            "amended_on": law.amended_on, "repealed_on": law.repealed_on}


def mark_law_changed(law: Law, *, amended_on: date | None = None, repealed_on: date | None = None) -> int:
    """Record an amendment or repeal; flag every question citing the law for review. Returns how many."""
    law.amended_on, law.repealed_on = amended_on, repealed_on
    if amended_on is None and repealed_on is None:
        db.session.flush()
        return 0
    if repealed_on is not None:
        reason = _("%(law)s was repealed on %(day)s", law=law.name, day=repealed_on.isoformat())
    else:
        reason = _("%(law)s was amended on %(day)s", law=law.name, day=amended_on.isoformat())
    questions = db.session.scalars(select(Question).where(Question.law_id == law.id)).all()
    for question in questions:
        question.needs_review = True
        question.review_reason = reason[:255]
    db.session.flush()
    audit.record("law.changed", law, after={"amended_on": amended_on, "repealed_on": repealed_on,
                                            "flagged": len(questions)})
    return len(questions)


# --- what papers may draw ---------------------------------------------------------------------------

def drawable_questions_filter(day: date):
    """SQL condition on ``Question`` (outer-joined to ``Law``): active and its law still usable on ``day``.

    Use with ``select(Question).outerjoin(Question.law).where(drawable_questions_filter(day))``, or simply
    ``drawable_query(day)``. A law amended or repealed on ``day`` or before keeps its questions out.
    """
    law_usable = or_(
        Question.law_id.is_(None),
        Law.id.is_(None),
        (or_(Law.amended_on.is_(None), Law.amended_on > day)) & (or_(Law.repealed_on.is_(None), Law.repealed_on > day)),
    )
    return (Question.status == "active") & law_usable


def drawable_query(day: date, *, type: str | None = None, category_ids=None, tag_ids=None, law_ids=None,
                   difficulty: tuple[int, int] | None = None) -> Select:
    """``select(Question)`` of the questions a paper drawn on ``day`` may use, with optional filters."""
    stmt = select(Question).outerjoin(Law, Question.law_id == Law.id).where(drawable_questions_filter(day))
    if type:
        stmt = stmt.where(Question.type == type)
    if category_ids:
        stmt = stmt.where(Question.category_id.in_(list(category_ids)))
    if law_ids:
        stmt = stmt.where(Question.law_id.in_(list(law_ids)))
    if tag_ids:
        stmt = stmt.where(Question.id.in_(select(question_tags.c.question_id).where(
            question_tags.c.tag_id.in_(list(tag_ids)))))
    if difficulty:
        stmt = stmt.where(Question.difficulty.between(*difficulty))
    return stmt.order_by(Question.id)


def category_and_descendant_ids(category: Category) -> list[int]:
    rows = db.session.execute(select(Category.id, Category.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for cid, parent in rows:
        children.setdefault(parent, []).append(cid)
    out, stack = [], [category.id]
    while stack:
        cid = stack.pop()
        out.append(cid)
        stack.extend(children.get(cid, []))
    return out


@dataclass
class QuestionFilter:
    category_id: int | None = None
    tag_id: int | None = None
    law_id: int | None = None
    type: str | None = None
    difficulty: int | None = None
    status: str | None = None
    needs_review: bool | None = None
    q: str = ""


def filtered_questions(f: QuestionFilter) -> Select:
    """One SQL query for the bank's list (stems searched with LIKE on the current version)."""
    stmt = select(Question).join(
        QuestionVersion,
        (QuestionVersion.question_id == Question.id) & (QuestionVersion.number == Question.current_number),
    ).options(selectinload(Question.tags), selectinload(Question.category), selectinload(Question.law),
              selectinload(Question.current))
    if f.category_id:
        category = db.session.get(Category, f.category_id)
        ids = category_and_descendant_ids(category) if category else [f.category_id]
        stmt = stmt.where(Question.category_id.in_(ids))
    if f.tag_id:
        stmt = stmt.where(Question.id.in_(select(question_tags.c.question_id).where(
            question_tags.c.tag_id == f.tag_id)))
    if f.law_id:
        stmt = stmt.where(Question.law_id == f.law_id)
    if f.type:
        stmt = stmt.where(Question.type == f.type)
    if f.difficulty:
        stmt = stmt.where(Question.difficulty == f.difficulty)
    if f.status:
        stmt = stmt.where(Question.status == f.status)
    if f.needs_review is not None:
        stmt = stmt.where(Question.needs_review == (true() if f.needs_review else false()))
    if f.q:
        like = "%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(QuestionVersion.stem.like(like, escape="\\"))
    return stmt.order_by(Question.id.desc())


# --- questions --------------------------------------------------------------------------------------

@dataclass
class QuestionData:
    type: str
    stem: str
    options: list[dict] = field(default_factory=list)
    answer: Any = None
    explanation: str | None = None
    difficulty: int = 3
    category: Category | None = None
    law: Law | None = None
    article: str | None = None
    source: str | None = None
    tags: list[Tag] = field(default_factory=list)
    status: str = "active"


def stem_key(stem: str) -> str:
    return normalise_stem(stem)[:STEM_KEY_LENGTH]


def duplicate_key(qtype: str, stem: str, options: list[dict]) -> tuple:
    """Same type, same normalised stem and the same option texts: the same question."""
    return qtype, normalise_stem(stem), tuple(sorted(normalise_stem(o.get("text", "")) for o in options or []))


def question_problems(data: QuestionData) -> list[str]:
    """Translated problems with ``data``; empty when it may be saved."""
    problems = []
    qtype = QUESTION_TYPES.get(data.type)
    if qtype is None:
        return [_("the question type %(t)s is unknown", t=data.type)]
    if not (data.stem or "").strip():
        problems.append(_("the stem is empty"))
    elif len(data.stem) > 20_000:
        problems.append(_("the stem is too long"))
    if not isinstance(data.difficulty, int) or not 1 <= data.difficulty <= 5:
        problems.append(_("the difficulty must be a whole number from 1 to 5"))
    if data.status not in QUESTION_STATUSES:
        problems.append(_("the status is unknown"))
    if data.article and len(data.article) > 64:
        problems.append(_("the article may have at most 64 characters"))
    if data.source and len(data.source) > 100:
        problems.append(_("the source may have at most 100 characters"))
    for problem in qtype.check(data.options if qtype.has_options else [], data.answer):
        problems.append(_translate_check(problem))
    return problems


def _translate_check(problem: str) -> str:
    """The type registry reports in English; say it in the user's language."""
    match = re.match(r"needs at least (\d+) options", problem)
    if match:
        return _("at least %(n)s options are needed", n=match.group(1))
    match = re.match(r"answer (.*) is not one of the options", problem)
    if match:
        return _("answer %(a)s is not one of the options", a=match.group(1))
    match = re.match(r"answer (.*) must be two or more of the options", problem)
    if match:
        return _("the answer of a multiple-choice question must be two or more of the options")
    known = {
        "option keys must be distinct letters A–H": _("option keys must be distinct letters A–H"),
        "an option is empty": _("an option is empty"),
        "answer repeats an option": _("the answer repeats an option"),
        "answer must be true or false": _("the answer must be true or false"),
        "each blank needs at least one accepted answer": _("each blank needs at least one accepted answer"),
        "a reference answer is required": _("a case-analysis question needs a reference answer"),
    }
    return known.get(problem, problem)


def _validate(data: QuestionData) -> None:
    problems = question_problems(data)
    if problems:
        raise QuestionError("; ".join(problems))


def _options_for(data: QuestionData) -> list[dict]:
    if not QUESTION_TYPES[data.type].has_options:
        return []
    return [{"key": o["key"], "text": o["text"].strip()} for o in data.options]


def new_question(data: QuestionData, *, by=None) -> Question:
    """A Question with its first version (not audited, not validated: callers do both)."""
    question = Question(
        type=data.type, status=data.status, category=data.category, law=data.law, article=data.article or None,
        difficulty=data.difficulty, source=data.source or None, current_number=1, stem_key=stem_key(data.stem),
        needs_review=False,
    )
    question.tags = list(data.tags)
    question.versions.append(QuestionVersion(
        number=1, type=data.type, stem=data.stem.strip(), options=_options_for(data), answer=data.answer,
        explanation=(data.explanation or "").strip() or None, created_by_id=getattr(by, "id", None),
    ))
    db.session.add(question)
    return question


def create_question(data: QuestionData, *, by=None) -> Question:
    _validate(data)
    question = new_question(data, by=by)
    db.session.flush()
    audit.record("question.create", question, after=question_state(question))
    return question


def question_state(question: Question) -> dict:
    version = question.current if question.current is not None else (question.versions or [None])[-1]
    return {
        "type": question.type, "status": question.status, "version": question.current_number,
        "stem": version.stem if version else None, "options": version.options if version else None,
        "answer": version.answer if version else None, "explanation": version.explanation if version else None,
        "difficulty": question.difficulty, "category": question.category.path if question.category else None,
        "law": question.law.name if question.law else None, "article": question.article,
        "source": question.source, "tags": [t.name for t in question.tags],
    }


def _latest_version(question: Question) -> QuestionVersion:
    return db.session.scalar(select(QuestionVersion).where(
        QuestionVersion.question_id == question.id, QuestionVersion.number == question.current_number))


def edit_question(question: Question, data: QuestionData, *, by=None, audited: bool = True) -> Question:
    """Save an edit. Changed content becomes a new immutable version; old versions stay as they were."""
    if data.type != question.type:
        raise QuestionError(_("The type of a question cannot change; create a new question instead."))
    _validate(data)
    before = question_state(question) if audited else None
    current = _latest_version(question)
    options = _options_for(data)
    explanation = (data.explanation or "").strip() or None
    content_changed = current is None or (
        current.stem != data.stem.strip() or current.options != options or current.answer != data.answer
        or current.explanation != explanation
    )
    if content_changed:
        number = question.current_number + 1
        db.session.add(QuestionVersion(
            question_id=question.id, number=number, type=question.type, stem=data.stem.strip(), options=options,
            answer=data.answer, explanation=explanation, created_by_id=getattr(by, "id", None),
        ))
        question.current_number = number
        question.stem_key = stem_key(data.stem)
        question.needs_review = False
        question.review_reason = None
    question.category, question.law, question.article = data.category, data.law, data.article or None
    question.difficulty, question.source = data.difficulty, data.source or None
    question.tags = list(data.tags)
    if data.status != question.status:
        question.status = data.status
    db.session.flush()
    db.session.expire(question, ["current", "versions"])
    if audited:
        audit.record("question.edit", question, before=before, after=question_state(question))
    return question


def set_status(question: Question, status: str) -> None:
    if status not in QUESTION_STATUSES:
        raise QuestionError(_("the status is unknown"))
    if question.status == status:
        return
    before = question.status
    question.status = status
    db.session.flush()
    audit.record("question.status", question, before={"status": before}, after={"status": status})


def clear_review(question: Question) -> None:
    """The reviewer checked the question against the amended law and keeps it as it is."""
    before = question.review_reason
    question.needs_review, question.review_reason = False, None
    db.session.flush()
    audit.record("question.reviewed", question, before={"review_reason": before}, after={"needs_review": False})


def _questions_by_ids(ids: list[int]) -> list[Question]:
    ids = list(dict.fromkeys(int(i) for i in ids))[:5000]
    if not ids:
        raise QuestionError(_("Choose at least one question."))
    questions = db.session.scalars(select(Question).where(Question.id.in_(ids))).all()
    if len(questions) != len(ids):
        raise NotFound(_("Some of the chosen questions do not exist."))
    return list(questions)


def bulk_retag(ids: list[int], *, add: list[str] = (), remove: list[str] = ()) -> int:
    questions = _questions_by_ids(ids)
    added = ensure_tags(list(add))
    remove_set = set(remove)
    for question in questions:
        tags = [t for t in question.tags if t.name not in remove_set]
        tags += [t for t in added if t not in tags]
        question.tags = tags
    db.session.flush()
    audit.record("question.bulk_retag", None, after={"ids": [q.id for q in questions], "add": list(add),
                                                     "remove": list(remove)})
    return len(questions)


def bulk_move(ids: list[int], category: Category | None) -> int:
    questions = _questions_by_ids(ids)
    for question in questions:
        question.category = category
    db.session.flush()
    audit.record("question.bulk_move", None, after={"ids": [q.id for q in questions],
                                                    "category": category.path if category else None})
    return len(questions)


def bulk_set_status(ids: list[int], status: str) -> int:
    if status not in QUESTION_STATUSES:
        raise QuestionError(_("the status is unknown"))
    questions = _questions_by_ids(ids)
    for question in questions:
        question.status = status
    db.session.flush()
    audit.record("question.bulk_status", None, after={"ids": [q.id for q in questions], "status": status})
    return len(questions)


def blank_options(count: int = 4) -> list[dict]:
    return [{"key": k, "text": ""} for k in OPTION_KEYS[:count]]
