"""Demo question bank: the laws a market-regulation bureau enforces, a category tree, and some 300 questions.

The questions are generated from ``seed_questions.txt``: each provision with a key term (a period, an amount,
the body that may set a penalty) gives a single-choice, a fill-in-the-blank and two true/false questions;
multiple-choice, true/false and case-analysis questions are written out in full.
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

from exam.extensions import db
from question_bank import operations as ops
from question_bank.models import Law

LAWS = [
    ("中华人民共和国行政处罚法", "行政处罚法", date(2021, 7, 15)),
    ("中华人民共和国行政许可法", "行政许可法", date(2019, 4, 23)),
    ("中华人民共和国行政复议法", "行政复议法", date(2024, 1, 1)),
    ("中华人民共和国行政强制法", "行政强制法", date(2012, 1, 1)),
    ("中华人民共和国产品质量法", "产品质量法", date(2018, 12, 29)),
    ("中华人民共和国特种设备安全法", "特种设备安全法", date(2014, 1, 1)),
    ("中华人民共和国计量法", "计量法", date(2018, 10, 26)),
    ("中华人民共和国标准化法", "标准化法", date(2018, 1, 1)),
    ("广东省行政执法监督条例", "行政执法监督条例", None),
    ("广东省电梯安全使用条例", "电梯安全使用条例", None),
]
PUBLIC = "公共法律知识"
SPECIAL = "专业法律知识"
TOPICS = {
    "行政处罚": PUBLIC, "行政许可": PUBLIC, "行政复议": PUBLIC, "行政强制": PUBLIC, "行政执法监督": PUBLIC,
    "产品质量": SPECIAL, "特种设备": SPECIAL, "电梯安全": SPECIAL, "计量": SPECIAL, "标准化": SPECIAL,
}
DATA = Path(__file__).with_name("seed_questions.txt")


def _blocks() -> list[list[str]]:
    blocks, current = [], []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        if line.strip():
            current.append(line.strip())
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def questions_from_data(rng: random.Random) -> list[dict]:
    """Plain question dicts (type, stem, options, answer, explanation, law, article, topic, tags, difficulty)."""
    out: list[dict] = []
    for block in _blocks():
        kind, law, article, topic, tag, flag = (block[0].split("|") + [""] * 6)[:6]
        common = {"law": law, "article": article or None, "topic": topic, "tags": [tag] if tag else []}
        full = next(name for name, short, _d in LAWS if short == law or name.endswith(law))
        if kind == "B":
            sentence, accepted, distractors = block[1], block[2].split("|"), block[3].split(";")
            note = block[4] if len(block) > 4 else None
            correct = accepted[0]
            choices = [correct, *distractors[:3]]
            rng.shuffle(choices)
            options = [{"key": "ABCD"[i], "text": c} for i, c in enumerate(choices)]
            answer_key = "ABCD"[choices.index(correct)]
            out.append({**common, "type": "single", "difficulty": 2,
                        "stem": f"根据《{full}》，" + sentence.replace("{}", "（  ）"),
                        "options": options, "answer": answer_key, "explanation": note})
            out.append({**common, "type": "fill_blank", "difficulty": 3,
                        "stem": f"《{full}》规定：" + sentence.replace("{}", "______"),
                        "options": [], "answer": [accepted], "explanation": note})
            out.append({**common, "type": "true_false", "difficulty": 1,
                        "stem": sentence.replace("{}", correct), "options": [], "answer": True,
                        "explanation": note})
            if flag == "no-false":
                continue
            wrong = distractors[0]
            out.append({**common, "type": "true_false", "difficulty": 2,
                        "stem": sentence.replace("{}", wrong), "options": [], "answer": False,
                        "explanation": f"应为“{correct}”，而不是“{wrong}”。" + (note or "")})
        elif kind == "M":
            correct, wrong = block[2].split(";"), block[3].split(";")
            choices = correct + wrong
            rng.shuffle(choices)
            options = [{"key": "ABCDEFGH"[i], "text": c} for i, c in enumerate(choices)]
            answer = sorted("ABCDEFGH"[choices.index(c)] for c in correct)
            if len(answer) < 2:
                continue
            out.append({**common, "type": "multiple", "difficulty": 3, "stem": block[1], "options": options,
                        "answer": answer, "explanation": block[4] if len(block) > 4 else None})
        elif kind == "T":
            out.append({**common, "type": "true_false", "difficulty": 2, "stem": block[1], "options": [],
                        "answer": block[2] == "正确", "explanation": block[3] if len(block) > 3 else None})
        elif kind == "C":
            points = []
            for item in block[3].split(";"):
                text, _sep, rest = item.rpartition("（")
                points.append({"text": text, "points": int(rest.rstrip("分）"))})
            out.append({**common, "type": "case_analysis", "difficulty": 4, "stem": block[1], "options": [],
                        "answer": {"reference": block[2], "scoring_points": points}, "explanation": None})
    return out


def seed(rng: random.Random) -> list[str]:
    laws = {}
    for name, short, effective in LAWS:
        law = ops.find_law(name) or Law(name=name)
        law.short_name, law.effective_on = short, effective
        db.session.add(law)
        laws[short] = laws[name] = law
    db.session.flush()
    for topic, root in TOPICS.items():
        ops.ensure_category(f"{root}/{topic}")
    questions = questions_from_data(rng)
    tags = {t.name: t for t in ops.ensure_tags(sorted({t for q in questions for t in q["tags"]}))}
    for q in questions:
        data = ops.QuestionData(
            type=q["type"], stem=q["stem"], options=q["options"], answer=q["answer"], explanation=q["explanation"],
            difficulty=q["difficulty"], category=ops.ensure_category(f"{TOPICS[q['topic']]}/{q['topic']}"),
            law=laws[q["law"]], article=q["article"], tags=[tags[t] for t in q["tags"]],
            source=f"学法材料{rng.choice([2023, 2024, 2025])}年第{rng.randint(1, 12)}期", status="active",
        )
        problems = ops.question_problems(data)
        if problems:
            raise ValueError(f"seed question is invalid: {q['stem'][:30]}: {problems}")
        ops.new_question(data)
    db.session.flush()
    return [f"question bank: {len(questions)} questions on {len(LAWS)} laws"]
