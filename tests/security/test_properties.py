"""Property-based tests: grading functions and the roster parser hold for any input hypothesis can find."""

from __future__ import annotations

import contextlib
import io
import string
from datetime import date, datetime

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from exam.accounts.roster import clean, parse_roster, read_rows
from exam.core.errors import ImportRejected
from question_bank.types import OPTION_KEYS, QUESTION_TYPES, ResponseError

PROPERTY_SETTINGS = settings(database=None, deadline=None, max_examples=150,
                             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# --- strategies ---------------------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30)
json_like = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=6),
    max_leaves=20,
)
points = st.sampled_from([0, 0.5, 1, 2, 2.5, 3, 5, 10, 100]) | st.decimals(
    min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False).map(float)


@st.composite
def options(draw, minimum=2):
    keys = draw(st.integers(min_value=minimum, max_value=len(OPTION_KEYS)))
    return [{"key": OPTION_KEYS[i], "text": draw(st.text(min_size=1, max_size=20).filter(str.strip))}
            for i in range(keys)]


@st.composite
def question(draw):
    """(type code, options, answer, a response that is exactly right) for a question that passes check()."""
    code = draw(st.sampled_from(sorted(QUESTION_TYPES)))
    qtype = QUESTION_TYPES[code]
    if code == "single":
        opts = draw(options(2))
        answer = draw(st.sampled_from([o["key"] for o in opts]))
        right = answer
    elif code == "multiple":
        opts = draw(options(3))
        keys = [o["key"] for o in opts]
        answer = sorted(draw(st.lists(st.sampled_from(keys), min_size=2, max_size=len(keys), unique=True)))
        right = list(reversed(answer))  # order does not matter
    elif code == "true_false":
        opts, answer = [], draw(st.booleans())
        right = answer
    elif code == "fill_blank":
        opts = []
        answer = draw(st.lists(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=3),
                               min_size=1, max_size=5))
        right = [blank[0] for blank in answer]
    else:
        opts = []
        answer = {"reference": draw(st.text(min_size=1, max_size=50).filter(str.strip))}
        right = draw(st.text(max_size=100))
    assume(not qtype.check(opts, answer))
    return code, opts, answer, right


# --- grading ------------------------------------------------------------------------------------------------

@PROPERTY_SETTINGS
@given(q=question(), response=json_like, pts=points, partial=st.booleans())
def test_clean_response_raises_only_response_error_and_grade_stays_within_points(q, response, pts, partial):
    code, opts, answer, _right = q
    qtype = QUESTION_TYPES[code]
    try:
        cleaned = qtype.clean_response(opts, response)
    except ResponseError:
        return
    qtype.is_answered(cleaned)
    score = qtype.grade(opts, answer, cleaned, pts, partial)
    if qtype.objective:
        assert score is not None and 0 <= score <= pts
    else:
        assert score is None  # graded by hand


@PROPERTY_SETTINGS
@given(q=question(), pts=points, partial=st.booleans())
def test_the_correct_answer_earns_full_points(q, pts, partial):
    code, opts, answer, right = q
    qtype = QUESTION_TYPES[code]
    cleaned = qtype.clean_response(opts, right)
    assert qtype.is_answered(cleaned) or code == "case_analysis"
    score = qtype.grade(opts, answer, cleaned, pts, partial)
    if qtype.objective:
        assert score == float(pts)


@PROPERTY_SETTINGS
@given(q=question(), pts=points)
def test_no_answer_earns_nothing(q, pts):
    code, opts, answer, _right = q
    qtype = QUESTION_TYPES[code]
    if qtype.objective:
        assert qtype.grade(opts, answer, qtype.clean_response(opts, None), pts, True) == 0


# --- roster import --------------------------------------------------------------------------------------------

# openpyxl refuses control characters in cells, so the hostile text is everything else.
cell_text = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)
cell_value = (
    st.none() | cell_text | st.integers(min_value=-(10**15), max_value=10**15)
    | st.floats(allow_nan=False, allow_infinity=False) | st.booleans()
    | st.dates(min_value=date(1900, 3, 1)) | st.datetimes(min_value=datetime(1900, 3, 1))
    | st.sampled_from(["在编在职", "退休", "是", "否", "法规科", "管理员", "稽查科", "A0101", "=1+1", "<script>"])
)
header_value = st.sampled_from(["工号", "姓名", "部门", "职务", "人员状态", "是否领导干部", "角色", "", "其他"])
header_value |= cell_text


def _workbook(header, rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@settings(database=None, deadline=None, max_examples=60,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    header=st.one_of(st.just(["工号", "姓名", "部门", "职务", "人员状态", "是否领导干部", "角色"]),
                     st.lists(header_value, min_size=0, max_size=8)),
    rows=st.lists(st.lists(cell_value, min_size=0, max_size=9), min_size=0, max_size=6),
    create_departments=st.booleans(),
)
def test_roster_parser_raises_only_import_rejected_for_any_cells(ctx, header, rows, create_departments):
    data = _workbook(header, rows)
    try:
        parsed = parse_roster(data, importer=None, create_departments=create_departments)
    except ImportRejected as exc:
        assert exc.message
        assert all(isinstance(d["row"], int) and d["message"] for d in exc.details)
        return
    assert parsed and all(r.data.username and r.data.name for r in parsed)


@settings(database=None, deadline=None, max_examples=100,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000) | st.sampled_from([b"PK\x03\x04" + b"\x00" * 40, _workbook([], [])[:300]]))
def test_roster_reader_raises_only_import_rejected_for_any_bytes(ctx, data):
    with contextlib.suppress(ImportRejected):  # anything else fails the test
        read_rows(data)


@settings(database=None, deadline=None, max_examples=300)
@given(value=cell_value | st.text(alphabet=string.whitespace + "\u3000ab", max_size=20))
def test_cell_cleaning_returns_single_line_trimmed_text(value):
    text = clean(value)
    assert isinstance(text, str)
    assert text == text.strip() and "\n" not in text and "\r" not in text and "  " not in text


# --- the question-bank import parsers ----------------------------------------------------------------------

_text_file = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=1500)


@PROPERTY_SETTINGS
@given(data=st.binary(max_size=3000) | _text_file.map(lambda t: t.encode("utf-8"))
       | _text_file.map(lambda t: t.encode("gb18030")),
       fmt=st.sampled_from(["csv", "gift", "aiken", "xlsx", None]))
def test_question_import_parsers_refuse_any_file_only_with_a_readable_error(ctx, data, fmt):
    """Whatever bytes arrive, the parser returns questions and row errors or refuses the file; never crashes."""
    from exam.core.errors import DomainError
    from question_bank.importer import parse_file

    try:
        detected, _questions, errors = parse_file(data, f"upload.{fmt or 'txt'}", fmt)
    except DomainError as exc:
        assert exc.message  # a message a person can read
        return
    assert all(isinstance(e.get("row"), int) and e.get("message") for e in errors)
    assert detected in {"csv", "gift", "aiken", "xlsx"}
