"""Moodle GIFT: categories, multiple choice, multiple answers with weights, true/false, short answer, essay.

Questions are separated by blank lines; ``//`` starts a comment; ``$CATEGORY: a/b`` sets the category of
the questions after it. Our exports add ``// @meta {...}`` comments (difficulty, tags, law, reference answer of
case analyses) that Moodle ignores and our import reads back.
"""

from __future__ import annotations

import html
import json
import re

from flask_babel import gettext as _

from question_bank.formats import ParsedQuestion, row_error, row_label
from question_bank.types import QUESTION_TYPES, FormatError, GiftBlock, gift_escape, gift_unescape

FORMAT_MARK = re.compile(r"^\[(html|moodle|plain|markdown)\]", re.IGNORECASE)
WEIGHT = re.compile(r"^%(-?\d+(?:\.\d+)?)%")
BLANK = "（　　）"


def html_to_text(value: str) -> str:
    value = re.sub(r"(?i)<br\s*/?>|</p\s*>|</div\s*>", "\n", value)
    value = html.unescape(re.sub(r"<[^>]*>", "", value)).replace("\xa0", " ")
    return "\n".join(line.strip() for line in value.split("\n") if line.strip())


def _find_unescaped(text: str, target: str, start: int = 0) -> int:
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(target, i):
            return i
        i += 1
    return -1


def _split_blocks(text: str) -> tuple[list[str], list[str]]:
    """Text parts and ``{...}`` blocks (raw, still escaped). Raises FormatError on unbalanced braces."""
    parts, blocks, i, start = [], [], 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            end = _find_unescaped(text, "}", i + 1)
            if end < 0:
                raise FormatError(_("a “{” has no matching “}”"))
            parts.append(text[start:i])
            blocks.append(text[i + 1:end])
            i = start = end + 1
            continue
        if ch == "}":
            raise FormatError(_("a “}” has no matching “{”"))
        i += 1
    parts.append(text[start:])
    return parts, blocks


def _strip_feedback(raw: str) -> str:
    cut = _find_unescaped(raw, "#")
    return raw if cut < 0 else raw[:cut]


def parse_block(raw: str) -> tuple[GiftBlock, str | None]:
    """One answer block -> (GiftBlock, general feedback)."""
    feedback = None
    cut = _find_unescaped(raw, "####")
    if cut >= 0:
        raw, feedback = raw[:cut], gift_unescape(raw[cut + 4:]).strip() or None
    body = raw.strip()
    if not body:
        return GiftBlock(raw=raw, items=[], essay=True), feedback
    truth_word = gift_unescape(_strip_feedback(body)).strip().upper()
    if truth_word in {"T", "TRUE"}:
        return GiftBlock(raw=raw, items=[], truth=True), feedback
    if truth_word in {"F", "FALSE"}:
        return GiftBlock(raw=raw, items=[], truth=False), feedback
    if body.startswith("#"):
        raise FormatError(_("numerical questions are not supported"))
    items: list[tuple[str, float | None, str]] = []
    i, current = 0, None
    marks: list[int] = []
    while i < len(body):
        if body[i] == "\\":
            i += 2
            continue
        if body[i] in "=~":
            marks.append(i)
        i += 1
    if not marks or body[: marks[0]].strip():
        raise FormatError(_("the answers must start with = or ~"))
    for index, position in enumerate(marks):
        end = marks[index + 1] if index + 1 < len(marks) else len(body)
        mark, text = body[position], body[position + 1:end]
        weight = None
        match = WEIGHT.match(text.strip())
        if match:
            weight = float(match.group(1))
            text = text.strip()[match.end():]
        text = _strip_feedback(text)
        if "->" in text and mark == "=":
            raise FormatError(_("matching questions are not supported"))
        current = gift_unescape(text).strip()
        if not current:
            raise FormatError(_("an answer is empty"))
        items.append((mark, weight, current))
    return GiftBlock(raw=raw, items=items), feedback


def _chunks(text: str):
    """(first line number, lines) of each paragraph; comment lines stay in so @meta can be read."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    chunk, first = [], 0
    for number, line in enumerate(lines, start=1):
        if line.strip():
            if not chunk:
                first = number
            chunk.append((number, line))
        elif chunk:
            yield first, chunk
            chunk = []
    if chunk:
        yield first, chunk


def clean_category(path: str) -> str:
    path = path.strip()
    path = re.sub(r"^\$(course|cat\d*|module|system)\$/?", "", path)
    parts = [p for p in path.split("/") if p.strip()]
    if parts and parts[0].lower() in {"top", "默认", "default"}:
        parts = parts[1:]
    if parts and re.match(r"(?i)^(default for |默认\s*for |默认(类别)?$)", parts[0].strip()):
        parts = parts[1:]  # Moodle's own "Default for <course>" category
    return "/".join(p.strip() for p in parts)


def parse_gift(text: str, *, limit: int, default_category: str = "") -> tuple[list[ParsedQuestion], list[dict]]:
    from question_bank.formats import FileRefused
    from question_bank.operations import _translate_check

    questions: list[ParsedQuestion] = []
    errors: list[dict] = []
    category = default_category
    for first, lines in _chunks(text):
        meta: dict = {}
        body_lines = []
        for number, line in lines:
            stripped = line.strip()
            if stripped.startswith("// @meta"):
                try:
                    meta = json.loads(stripped[len("// @meta"):])
                except ValueError:
                    meta = {}
                if not isinstance(meta, dict):
                    meta = {}
            elif stripped.startswith("//"):
                continue
            elif stripped.startswith("$CATEGORY:"):
                category = clean_category(stripped[len("$CATEGORY:"):]) or default_category
            else:
                body_lines.append((number, line))
        if not body_lines:
            continue
        if len(questions) + len(errors) >= limit:
            raise FileRefused(_("The file has more than %(n)d questions. Split it into smaller files.", n=limit))
        first = body_lines[0][0]
        label = row_label(first)
        try:
            questions.append(_parse_question("\n".join(line for _n, line in body_lines), first, label, category,
                                             meta))
        except FormatError as exc:
            errors.append(row_error(first, label, str(exc)))
            continue
        qtype = QUESTION_TYPES[questions[-1].type]
        problems = [_translate_check(p) for p in qtype.check(questions[-1].options, questions[-1].answer)]
        if problems:
            questions.pop()
            errors.append(row_error(first, label, problems))
    return questions, errors


def _parse_question(text: str, first: int, label: str, category: str, meta: dict) -> ParsedQuestion:
    text = text.strip()
    if text.startswith("::"):
        end = _find_unescaped(text, "::", 2)
        if end < 0:
            raise FormatError(_("the question title is not closed with ::"))
        text = text[end + 2:].lstrip()
    mark = FORMAT_MARK.match(text)
    is_html = bool(mark) and mark.group(1).lower() == "html"
    text = FORMAT_MARK.sub("", text).lstrip()
    parts, raw_blocks = _split_blocks(text)
    if not raw_blocks:
        raise FormatError(_("the question has no answer block {…}"))
    parsed = [parse_block(raw) for raw in raw_blocks]
    explanation = next((fb for _b, fb in reversed(parsed) if fb), None)
    blocks = [b for b, _fb in parsed]
    fill = QUESTION_TYPES["fill_blank"]
    if len(blocks) > 1:
        if not all(fill.claims_gift(b) for b in blocks):
            raise FormatError(_("only fill-in-the-blank questions may have several answer blocks"))
        qtype = fill
        options, answer = [], [fill.from_gift(b)[1][0] for b in blocks]
    else:
        qtype = next((t for t in QUESTION_TYPES.values() if t.claims_gift(blocks[0])), None)
        if qtype is None:
            raise FormatError(_("the answer block is not a question type this bank knows"))
        options, answer = qtype.from_gift(blocks[0])
    # stem: text around the blocks; a block inside the text (missing word) becomes a blank
    stem = ""
    for index, part in enumerate(parts):
        stem += gift_unescape(part)
        if index < len(raw_blocks) and parts[index + 1].strip():
            stem += BLANK
    stem = stem.strip()
    if is_html:  # Moodle's [html] questions: keep the text, drop the markup
        stem = html_to_text(stem)
        options = [{"key": o["key"], "text": html_to_text(o["text"])} for o in options]
        if explanation:
            explanation = html_to_text(explanation) or None
        if qtype.code == "fill_blank":
            answer = [[html_to_text(a) for a in blank] for blank in answer]
    if not stem:
        raise FormatError(_("the stem is empty"))
    if qtype.code == "case_analysis":
        answer = meta.get("answer") if isinstance(meta.get("answer"), dict) else None
        if not answer:
            answer = {"reference": explanation or "", "scoring_points": []}
            explanation = None
    difficulty = meta.get("difficulty", 3)
    if not isinstance(difficulty, int) or isinstance(difficulty, bool) or not 1 <= difficulty <= 5:
        difficulty = 3
    tags = meta.get("tags") if isinstance(meta.get("tags"), list) else []
    return ParsedQuestion(
        row=first, type=qtype.code, stem=stem, options=options, answer=answer, explanation=explanation,
        difficulty=difficulty, category_path=category,
        tags=list(dict.fromkeys(str(t).strip()[:64] for t in tags if str(t).strip()))[:20],
        law_name=str(meta.get("law") or ""), article=(str(meta["article"]) if meta.get("article") else None),
        source=(str(meta["source"]) if meta.get("source") else None),
    )


def render_question(question) -> str:
    version = question.current
    qtype = QUESTION_TYPES[question.type]
    blocks = qtype.to_gift(version.options, version.answer)
    explanation = version.explanation
    meta: dict = {"difficulty": question.difficulty}
    if question.tags:
        meta["tags"] = [t.name for t in question.tags]
    if question.law is not None:
        meta["law"] = question.law.name
    if question.article:
        meta["article"] = question.article
    if question.source:
        meta["source"] = question.source
    if question.type == "case_analysis":
        meta["answer"] = version.answer
    if explanation:
        blocks[-1] = (blocks[-1] + " ####" + gift_escape(explanation)).strip()
    lines = [f"// question {question.id}, version {question.current_number}",
             "// @meta " + json.dumps(meta, ensure_ascii=False)]
    body = gift_escape(version.stem) + " " + " ".join("{" + b + "}" for b in blocks)
    lines.append(body)
    return "\n".join(lines)


def render_gift(questions) -> str:
    out, category = [], None
    for question in questions:
        path = question.category.path if question.category else ""
        if path != category:
            out.append(f"$CATEGORY: $course$/top/{path}" if path else "$CATEGORY: $course$/top")
            out.append("")
            category = path
        out.append(render_question(question))
        out.append("")
    return "\n".join(out)
