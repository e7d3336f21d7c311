"""Exam day: N examinees start, answer with autosave and all submit inside the last 60 seconds (issue #8).

Runs only when the exams API (issue #4) is on the branch:
POST /api/v1/exams/{id}/attempts, GET /api/v1/attempts/{id}, PUT /api/v1/attempts/{id}/items/{position} with
``{response, seq}``, POST /api/v1/attempts/{id}/submit, with ``Authorization: Bearer TOKEN``.

Phases, on one fresh database with the run's examinees (bench.context.seed_people, a token each):

1. capacity (closed loop, no think time, like R0): ``start`` every examinee on exam A, ``autosave`` one attempt
   per client again and again, ``submit`` every attempt; py-spy profiles the server during a second autosave
   run on other attempts and while every examinee submits an attempt on exam A2 (the same blueprint, attempts
   copied in bulk). Throughput as ratios to R0; goals autosave >= 0.5 x R0 and submit >= 0.3 x R0.
2. rush: exam B, window closing ``RUSH_SECONDS`` after the run starts; every examinee starts (arriving over the
   first ``RAMP_SECONDS``), answers with think time, changes a quarter of the answers, and submits at a moment
   drawn inside the last 60 seconds of the window.
3. check straight in the database: every acknowledged save (attempt, position, response, seq, logged by the
   client on a 2xx) is stored (stored seq >= the highest acknowledged seq, and the same response when equal), and
   every attempt is finished exactly once (one attempt per examinee and exam, finished, with a finish time).

The data set-up writes the exams directly through the models (exam.exams.models: Exam, ExamSection, Attempt,
AttemptItem) as they stood on the exams branch; if they change at the merge, adapt ``create_exam`` and
``stored_attempts`` only.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

from bench.load import locust_available
from bench.scenarios._features import rule_for

NAME = "exam_day"
TITLE = "Exam day: start, autosave, submit in the last minute (N examinees)"
ROUTES = [
    ("POST", "/api/v1/exams/", "/attempts"),
    ("GET", "/api/v1/attempts/<"),
    ("PUT", "/api/v1/attempts/", "/items/"),
    ("POST", "/api/v1/attempts/", "/submit"),
]
QUESTIONS_PER_TYPE = 100
SECTIONS = [("single", "单项选择题", 20, 1.0), ("multiple", "多项选择题", 10, 2.0), ("true_false", "判断题", 10, 1.0)]
AUTOSAVE_GOAL, SUBMIT_GOAL = 0.5, 0.3
# The rush is a real exam compressed into a few minutes: arrivals over RAMP_SECONDS, one answer every 8-24 s
# (real examinees take 30-60 s a question, so this offers two to three times the real autosave load), submissions
# spread over the last 60 seconds. Arrivals end as the submissions may begin (the window is
# short to fit `make bench` in 15 minutes on both databases).
RUSH_SECONDS, RAMP_SECONDS = 100, 40
R0_NEAR_SECONDS = 4
# The submit capacity phase is 1,000 submits in two to three seconds, and on a shared VM the same code gave 0.17 to
# 0.31 x R0 in single phases within half an hour (bench/README.md): it runs three times, each time on a new exam
# with a copy of the papers and R0 measured next to it, and the table shows the median phase (every phase is
# listed in the notes).
SUBMIT_PHASES = 3
THINK_FULL, THINK_QUICK = (8.0, 24.0), (4.0, 12.0)
OPTION_KEYS = "ABCDEFGH"
CATEGORY = "执法基础"


def available(app):
    missing = [" ".join(r) for r in ROUTES if rule_for(app, r[0], *r[1:]) is None]
    if missing:
        return "skipped: exams API not on this branch (no route for " + "; ".join(missing) + ")"
    try:
        from exam.exams.models import Attempt, AttemptItem, Exam, ExamSection  # noqa: F401
    except ImportError as exc:
        return f"skipped: exams models not importable ({exc})"
    tool = locust_available()
    return tool


# --- data -------------------------------------------------------------------------------------------------

def seed_questions(app, per_type: int = QUESTIONS_PER_TYPE) -> int:
    """Active questions of the objective types, written in bulk (bench/scenarios/_bank.py)."""
    from bench.scenarios._bank import bulk_questions

    return bulk_questions(app, CATEGORY, per_type, types=tuple(kind for kind, *_ in SECTIONS))


def create_exam(app, title: str, *, closes_in_seconds: int, time_limit_minutes: int) -> int:
    """A published exam open to everyone, one attempt each, the paper drawn from the seeded questions.

    Through the exams operations (create_exam + publish_exam) when they are there, else through the models."""
    from exam.core.timeutil import utcnow
    from exam.extensions import db

    with app.app_context():
        now = utcnow()
        opens_at, closes_at = now - timedelta(minutes=5), now + timedelta(seconds=closes_in_seconds)
        try:
            from exam.exams import operations as ops
        except ImportError:
            ops = None
        if ops is not None and hasattr(ops, "create_exam") and hasattr(ops, "publish_exam"):
            exam = ops.create_exam({
                "title": title, "purpose": "annual", "certificate_category": None,
                "time_limit_minutes": time_limit_minutes, "opens_at": opens_at, "closes_at": closes_at,
                "max_attempts": 1, "counting_attempt": "best", "pass_mark": 60,
                "bands": {"优秀": 90, "良好": 80, "合格": 60},
                "multiple_scoring": "all_or_nothing", "show_results": "after_close", "show_answers": "after_close",
                "focus_loss_limit": 0, "grace_seconds": None,
                "audience": {"everyone": True, "departments": [], "users": []},
                "sections": [{"title": t, "type": k, "count": n, "points": p, "categories": [CATEGORY]}
                             for k, t, n, p in SECTIONS],
            }, None)
            ops.publish_exam(exam)
        else:
            from exam.exams.models import Exam, ExamSection

            exam = Exam(title=title, purpose="annual", time_limit_minutes=time_limit_minutes, opens_at=opens_at,
                        closes_at=closes_at, max_attempts=1, status="published", audience_everyone=True,
                        published_at=now)
            for position, (kind, section_title, count, points) in enumerate(SECTIONS, start=1):
                exam.sections.append(ExamSection(position=position, title=section_title, type=kind, count=count,
                                                 points=points, filters={"categories": [CATEGORY]}))
            db.session.add(exam)
        db.session.commit()
        exam_id = exam.id
        db.engine.dispose()
    return exam_id


def stored_attempts(app, exam_ids: list[int]) -> tuple[dict, dict, list]:
    """attempt id -> {user, status, finished_at}; (attempt id, position) -> (response, seq, option_order);
    and (exam, user, count) for any examinee with more than one attempt."""
    from sqlalchemy import func, select

    from exam.exams.models import Attempt, AttemptItem
    from exam.extensions import db

    with app.app_context():
        attempts = {
            str(a.id): {"exam": a.exam_id, "user": a.user_id, "status": a.status, "finished_at": a.finished_at,
                        "finished_by": getattr(a, "finished_by", None)}
            for a in db.session.scalars(select(Attempt).where(Attempt.exam_id.in_(exam_ids)))
        }
        items = {
            (str(attempt_id), position): (response, seq, order)
            for attempt_id, position, response, seq, order in db.session.execute(
                select(AttemptItem.attempt_id, AttemptItem.position, AttemptItem.response, AttemptItem.response_seq,
                       AttemptItem.option_order).join(Attempt).where(Attempt.exam_id.in_(exam_ids)))
        }
        duplicates = db.session.execute(
            select(Attempt.exam_id, Attempt.user_id, func.count()).where(Attempt.exam_id.in_(exam_ids))
            .group_by(Attempt.exam_id, Attempt.user_id).having(func.count() > 1)).all()
        db.engine.dispose()
    return attempts, items, [tuple(d) for d in duplicates]


def to_stored(response, option_order):
    """The client answers in displayed keys (A, B, ...); the server stores original keys via option_order."""
    if not option_order:
        return response

    def one(key):
        if isinstance(key, str) and len(key) == 1 and key in OPTION_KEYS and OPTION_KEYS.index(key) < len(option_order):
            return option_order[OPTION_KEYS.index(key)]
        return key

    if isinstance(response, list):
        return sorted(one(k) for k in response)
    return one(response)


def _same(stored, expected) -> bool:
    if isinstance(stored, list) and isinstance(expected, list):
        return sorted(map(str, stored)) == sorted(map(str, expected))
    return stored == expected


def read_acks(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def check_database(app, exam_ids: list[int], acks: list[dict], expect_submitted: set[str]) -> dict:
    """Lost answers and attempts not finished exactly once, counted from the rows themselves."""
    attempts, items, duplicates = stored_attempts(app, exam_ids)
    return evaluate(acks, attempts, items, duplicates, expect_submitted)


def evaluate(acks: list[dict], attempts: dict, items: dict, duplicates: list, expect_submitted: set[str]) -> dict:
    """Compare what the clients were told (acks) with the stored rows (see ``stored_attempts``)."""
    latest: dict[tuple[str, int], dict] = {}
    for record in acks:
        if record["k"] == "save":
            key = (str(record["attempt"]), int(record["position"]))
            if key not in latest or record["seq"] > latest[key]["seq"]:
                latest[key] = record
    lost = []
    for key, record in latest.items():
        stored = items.get(key)
        if stored is None:
            lost.append({"attempt": key[0], "position": key[1], "why": "no such item"})
            continue
        response, seq, order = stored
        if seq is None or seq < record["seq"]:
            lost.append({"attempt": key[0], "position": key[1],
                         "why": f"stored seq {seq} < acknowledged {record['seq']}"})
        elif seq == record["seq"] and not _same(response, to_stored(record["response"], order)):
            lost.append({"attempt": key[0], "position": key[1], "why": f"stored {response!r} != acknowledged"})
    submit_acks: dict[str, int] = {}
    for record in acks:
        if record["k"] == "submit":
            submit_acks[str(record["attempt"])] = submit_acks.get(str(record["attempt"]), 0) + 1
    started = {str(r["attempt"]) for r in acks if r["k"] == "start"}
    not_finished = [a for a in expect_submitted if a in attempts and
                    (attempts[a]["status"] == "in_progress" or attempts[a]["finished_at"] is None)]
    acked_but_open = [a for a in submit_acks if a in attempts and attempts[a]["status"] == "in_progress"]
    twice = [a for a, n in submit_acks.items() if n > 1]
    missing = [a for a in started if a not in attempts]
    return {
        "acknowledged_saves": sum(1 for r in acks if r["k"] == "save"),
        "acknowledged_items": len(latest),
        "lost_answers": len(lost),
        "lost_examples": lost[:5],
        "attempts_started": len(started),
        "attempts_missing": len(missing),
        "submits_acknowledged": len(submit_acks),
        "submits_acknowledged_twice": len(twice),
        "acknowledged_but_not_finished": len(acked_but_open),
        "expected_finished_but_open": len(not_finished),
        "examinees_with_two_attempts": len(duplicates),
    }


# --- the run ----------------------------------------------------------------------------------------------

def _write_assignments(path: Path, acks: list[dict]) -> int:
    starts = [(r["token"], r["attempt"]) for r in acks if r["k"] == "start"]
    path.write_text("".join(f"{t}\t{a}\n" for t, a in starts))
    return len(starts)


def clone_attempts(app, usernames: list[str], started: dict[int, str], exam_id: int | None = None) -> dict[int, str]:
    """Attempts for the examinees the start phase did not reach, copied in bulk from one it started (the same
    paper, the same deadline): the autosave and submit capacity phases then have an attempt per examinee
    however slow the start was. With ``exam_id`` (another exam of the same blueprint), an attempt on that exam
    for every examinee, copied the same way. A copy is open, whatever its template's state now (a template the
    submit phase finished would give copies that a submit only reads). Returns token index -> attempt id for the
    new ones."""
    from sqlalchemy import func, insert, select, text

    from exam.accounts.models import User
    from exam.exams.models import Attempt, AttemptItem
    from exam.extensions import db

    a_table, i_table = Attempt.__table__, AttemptItem.__table__
    todo = [i for i in range(len(usernames)) if exam_id is not None or i not in started]
    if not started or not todo:
        return {}
    template = int(next(iter(started.values())))
    with app.app_context():
        conn = db.session.connection()
        ids = dict(conn.execute(select(User.username, User.id).where(User.username.in_(
            [usernames[i] for i in todo]))).all())
        attempt = dict(conn.execute(select(a_table).where(a_table.c.id == template)).mappings().one())
        items = [dict(r) for r in conn.execute(select(i_table).where(i_table.c.attempt_id == template)).mappings()]
        next_id = conn.execute(select(func.max(a_table.c.id))).scalar() + 1
        made = {index: next_id + k for k, index in enumerate(todo)}
        exam = {"exam_id": exam_id} if exam_id is not None else {}
        attempt.update(status="in_progress", finished_at=None, finished_by=None, score=None, passed=None, band=None)
        conn.execute(insert(a_table), [dict(attempt, id=made[i], user_id=ids[usernames[i]], **exam) for i in todo])
        conn.execute(insert(i_table), [{**{k: v for k, v in item.items() if k != "id"}, "attempt_id": aid}
                                       for aid in made.values() for item in items])
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('attempts', 'id'), :last)"),
                         {"last": max(made.values())})
        db.session.commit()
        db.engine.dispose()
    return {i: str(a) for i, a in made.items()}


def _copies(ctx, template: dict[int, str], exam_id: int, path: Path) -> Path:
    """An open copy of the template's paper on the exam for every examinee (``clone_attempts``), listed in ``path``
    for the load tool (token index, attempt id)."""
    path.write_text("".join(f"{t}\t{a}\n" for t, a in clone_attempts(ctx.app, ctx.usernames, template,
                                                                       exam_id=exam_id).items()))
    return path


def _phase(ctx, name: str, mode: str, exam_id: int, *, run_time: int, max_requests: int, users: int,
           spawn_rate: float | None = None, extra: dict | None = None):
    ack_file = ctx.work_dir / f"acks-{name}.jsonl"
    ack_file.unlink(missing_ok=True)
    env = {"BENCH_MODE": mode, "BENCH_EXAM_ID": str(exam_id), "BENCH_ACK_FILE": str(ack_file), **(extra or {})}
    run = ctx.load("exam_day.py", run_time=run_time, max_requests=max_requests, users=users,
                   spawn_rate=spawn_rate, env=env, tag=f"exam-{name}")
    return run, read_acks(ack_file)


def _r0_near(ctx, tag: str, users: int | None = None) -> float | None:
    """R0 again, just before a capacity phase: the machine's speed drifts over minutes (a shared virtual
    machine), so the phase is also given against the baseline measured next to it (a note; the table's ratio
    stays against the run's R0). ``users``: the load tool's, when not the bench's usual number."""
    run = ctx.load("hello.py", run_time=R0_NEAR_SECONDS, max_requests=200_000, tag=f"r0-near-{tag}",
                   **({} if users is None else {"users": users}))
    return (run.stats.get("GET /bench/hello") or {}).get("rps")


def _from_acks(row: dict, acks: list[dict], kind: str, r0: dict | None) -> str | None:
    """A short phase's requests and req/s from the client's acknowledgements (first to last 2xx): locust's CSV
    statistics missed the tail of the submit phase (1,000 submits in about two seconds). Returns a note."""
    times = sorted(r["t"] for r in acks if r["k"] == kind)
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    counted, span = row.get("requests") or 0, times[-1] - times[0]
    row["requests"], row["rps"] = len(times), round((len(times) - 1) / span, 1)
    if r0 and r0.get("rps"):
        row["ratio_to_r0"] = round(row["rps"] / r0["rps"], 3)
    return (f"{row['name']}: requests and req/s from the client's acknowledgements, {len(times):,} in {span:.2f} s "
            f"between the first and the last (locust's statistics counted {counted:,}; its latencies are shown).")


def _cpu_from_acks(row: dict, run, acks: list[dict], kind: str) -> None:
    """The phase's CPU per request over the span of its acknowledgements (bench/cpu.py), not the run's steady
    part guessed from its length: a closed loop over a fixed set of attempts ends when they are done."""
    times = sorted(r["t"] for r in acks if r["k"] == kind)
    if run.cpu is None or len(times) < 2:
        return
    if spent := run.cpu.spent(times[0], times[-1]):
        row["cpu_seconds"] = spent
        row["cpu_requests"] = sum(1 for t in times if spent["from"] <= t <= spent["to"])


def submit_phases(ctx) -> int:
    """How many times the submit capacity phase runs (its figure: the median phase's)."""
    return 1 if ctx.quick else SUBMIT_PHASES


def median_phase(ratios: list[float | None]) -> int:
    """The index of the phase whose ratio is the median (the lower of the two middle ones for an even count; a
    phase without a ratio counts as 0)."""
    order = sorted(range(len(ratios)), key=lambda i: ratios[i] or 0.0)
    return order[(len(order) - 1) // 2]


def estimate_seconds(ctx) -> int:
    # capacity phases (3 x 10 s), R0 next to two of them, the submit phase's repetitions (a copy of the papers,
    # R0 next to it, the phase), profiles, the rush, the check
    return (ctx.seconds(RUSH_SECONDS + 60, 140) + 2 * (R0_NEAR_SECONDS + 2)
            + (submit_phases(ctx) - 1) * (R0_NEAR_SECONDS + 12))


def run(ctx):
    from bench.context import HTTP_USERS

    n = len(ctx.tokens)
    rush_seconds = ctx.seconds(RUSH_SECONDS, 75)
    ramp_seconds = ctx.seconds(RAMP_SECONDS, 15)
    notes: list[str] = []
    seed_questions(ctx.app)
    items_per_paper = sum(s[2] for s in SECTIONS)

    # 1. capacity ------------------------------------------------------------------------------------------
    exam_a = create_exam(ctx.app, "基准测试:容量", closes_in_seconds=3600, time_limit_minutes=60)
    start_run, start_acks = _phase(ctx, "start", "start", exam_a, run_time=10, max_requests=n,
                                   users=HTTP_USERS)
    assigned = ctx.work_dir / "attempts.txt"
    started = _write_assignments(assigned, start_acks)
    cloned = clone_attempts(ctx.app, ctx.usernames, {int(r["token"]): r["attempt"] for r in start_acks
                                                     if r["k"] == "start"})
    with assigned.open("a") as out:
        out.writelines(f"{t}\t{a}\n" for t, a in cloned.items())
    notes.append(f"capacity: {started} attempts started in the start phase, {len(cloned)} more copied from one of "
                 "them in bulk for the autosave and submit phases.")
    started += len(cloned)
    r0_near = {"autosave": _r0_near(ctx, "autosave")}
    save_run, save_acks = _phase(ctx, "autosave", "autosave", exam_a, run_time=ctx.seconds(10, 8),
                                 max_requests=200_000, users=min(HTTP_USERS, started),
                                 extra={"BENCH_ATTEMPTS_FILE": str(assigned)})
    # Profiles always (they are cheap, and show what limits the figures): autosave in a short separate run on
    # the same attempts (still open: a profile of refused saves would show the error path), then submit while
    # every examinee submits an attempt on a second exam of the same blueprint (copied like the ones above).
    seconds = 3
    others = ctx.work_dir / "attempts-autosave-profile.txt"  # not the ones the capacity phase saved: fresh seqs
    others.write_text("".join(assigned.read_text().splitlines(keepends=True)[-HTTP_USERS:]))
    profiles: list[str] = ["autosave:", *ctx.profile(seconds, during=lambda: _phase(
        ctx, "autosave-profile", "autosave", exam_a, run_time=seconds + 4, max_requests=100_000,
        users=min(HTTP_USERS, started), extra={"BENCH_ATTEMPTS_FILE": str(others)}))]
    r0_near["submit"] = _r0_near(ctx, "submit")
    submit_run, submit_acks = _phase(ctx, "submit", "submit", exam_a, run_time=10, max_requests=started,
                                     users=HTTP_USERS, extra={"BENCH_ATTEMPTS_FILE": str(assigned)})
    template = {int(r["token"]): r["attempt"] for r in start_acks if r["k"] == "start"}
    repeated = []  # the submit phase again: (exam, R0 next to it, run, acks)
    for k in range(2, submit_phases(ctx) + 1):
        exam_k = create_exam(ctx.app, f"基准测试:容量(提交{k})", closes_in_seconds=3600, time_limit_minutes=60)
        assigned_k = _copies(ctx, template, exam_k, ctx.work_dir / f"attempts-submit-{k}.txt")
        near_k = _r0_near(ctx, f"submit-{k}")
        repeated.append((exam_k, near_k, *_phase(ctx, f"submit-{k}", "submit", exam_k, run_time=10, max_requests=n,
                                                 users=HTTP_USERS, extra={"BENCH_ATTEMPTS_FILE": str(assigned_k)})))
    rows = [
        ctx.row(start_run, "POST /exams/[id]/attempts", label="capacity: start (POST /exams/[id]/attempts)"),
        ctx.row(save_run, "PUT /attempts/[id]/items/[pos]", label="capacity: autosave (PUT .../items/[pos])"),
        ctx.row(submit_run, "POST /attempts/[id]/submit", label="capacity: submit (POST .../submit)"),
    ]
    for row, run, acks, kind in zip(rows, (start_run, save_run, submit_run), (start_acks, save_acks, submit_acks),
                                    ("start", "save", "submit"), strict=True):
        _cpu_from_acks(row, run, acks, kind)
    autosave_row = rows[1]
    phases = [(exam_a, r0_near["submit"], submit_run, submit_acks, rows[2])]
    for exam_k, near_k, run_k, acks_k in repeated:
        row_k = ctx.row(run_k, "POST /attempts/[id]/submit", label="capacity: submit (POST .../submit)")
        _cpu_from_acks(row_k, run_k, acks_k, "submit")
        phases.append((exam_k, near_k, run_k, acks_k, row_k))
    phase_notes = [_from_acks(row, acks, "submit", ctx.r0) for _, _, _, acks, row in phases]
    chosen = median_phase([row.get("ratio_to_r0") for *_, row in phases])
    _, r0_near["submit"], submit_run, _, submit_row = phases[chosen]
    rows[2] = submit_row
    if phase_notes[chosen]:
        notes.append(phase_notes[chosen])
    if len(phases) > 1:
        notes.append(f"submit: the phase ran {len(phases)} times, each on its own exam with R0 measured next to it; "
                     f"the table shows the median one (phase {chosen + 1}). Each phase: " + "; ".join(
                         f"{i + 1}: {row.get('requests') or 0:,} submits, {row.get('rps') or 0:,.0f}/s, "
                         f"{row.get('ratio_to_r0') or 0:.3f} × the run's R0, "
                         f"{(row.get('rps') or 0) / near:.3f} × the R0 next to it ({near:,.0f}/s)"
                         if near else f"{i + 1}: {row.get('rps') or 0:,.0f}/s, {row.get('ratio_to_r0') or 0:.3f} × R0"
                         for i, (_, near, _, _, row) in enumerate(phases)) + ".")
    autosave_row["goal"] = f"≥ {AUTOSAVE_GOAL} × R0"
    autosave_row["goal_met"] = (autosave_row.get("ratio_to_r0") or 0) >= AUTOSAVE_GOAL
    submit_row["goal"] = f"≥ {SUBMIT_GOAL} × R0"
    submit_row["goal_met"] = (submit_row.get("ratio_to_r0") or 0) >= SUBMIT_GOAL
    exam_a2 = create_exam(ctx.app, "基准测试:容量(剖析)", closes_in_seconds=3600, time_limit_minutes=60)
    profiled = _copies(ctx, template, exam_a2, ctx.work_dir / "attempts-profiled.txt")
    profile_acks: list[dict] = []

    def _submit_rest():
        _, acks = _phase(ctx, "submit-profile", "submit", exam_a2, run_time=8, max_requests=n,
                         users=HTTP_USERS, extra={"BENCH_ATTEMPTS_FILE": str(profiled)})
        profile_acks.extend(acks)

    profiles += ["submit:", *ctx.profile(1, during=_submit_rest, delay=0.5)]

    # 2. the rush ------------------------------------------------------------------------------------------
    exam_b = create_exam(ctx.app, "基准测试:考试日", closes_in_seconds=rush_seconds,
                         time_limit_minutes=rush_seconds // 60 + 5)
    close_at = time.time() + rush_seconds
    think = THINK_QUICK if ctx.quick else THINK_FULL
    rush_run, rush_acks = _phase(
        ctx, "rush", "rush", exam_b, run_time=rush_seconds + 20, max_requests=n * (items_per_paper * 2 + 10),
        users=n, spawn_rate=max(1.0, n / ramp_seconds),
        extra={"BENCH_CLOSE_AT": f"{close_at:.3f}", "BENCH_THINK_MIN": str(think[0]), "BENCH_THINK_MAX": str(think[1])},
    )
    for name in ("POST /exams/[id]/attempts", "GET /attempts/[id]", "PUT /attempts/[id]/items/[pos]",
                 "POST /attempts/[id]/submit"):
        row = ctx.row(rush_run, name, label=f"rush ({n} examinees): {name}")
        row["ratio_to_r0"] = None  # the rush offers a fixed load (think time): its req/s is not a capacity
        rows.append(row)
    submit_times = [r["t"] for r in rush_acks if r["k"] == "submit"]
    in_last_minute = sum(1 for t in submit_times if close_at - 60 <= t <= close_at)

    # 3. the database check --------------------------------------------------------------------------------
    submit_acks = [r for _, _, _, acks, _ in phases for r in acks]
    all_acks = start_acks + save_acks + submit_acks + profile_acks + rush_acks
    expect_finished = {str(r["attempt"]) for r in submit_acks + profile_acks + rush_acks if r["k"] == "submit"}
    check = check_database(ctx.app, [exam_a, *(exam for exam, *_ in phases[1:]), exam_a2, exam_b], all_acks,
                           expect_finished)
    rush_starts = {str(r["attempt"]) for r in rush_acks if r["k"] == "start"}
    rush_submits = {str(r["attempt"]) for r in rush_acks if r["k"] == "submit"}
    other_phases = [row for *_, row in phases if row is not submit_row]  # their 5xx count too
    server_errors = sum(r.get("server_errors") or 0 for r in rows + other_phases)
    zero_loss = (len(rush_starts) == n and len(rush_submits) == n and started > 0
                 and check["lost_answers"] == 0 and check["attempts_missing"] == 0
                 and check["acknowledged_but_not_finished"] == 0 and check["examinees_with_two_attempts"] == 0
                 and check["expected_finished_but_open"] == 0)
    notes.append(f"rush: {len(rush_starts)} of {n} examinees started, {len(rush_submits)} submitted "
                 f"({in_last_minute} inside the last 60 s of the window); papers of {items_per_paper} items.")
    notes.append("database check: " + ", ".join(f"{k} {v}" for k, v in check.items() if k != "lost_examples"))
    retries = [r for r in rush_acks if r["k"] == "retry"]
    if retries:
        notes.append(f"rush: {len(retries)} request(s) got no answer at all (status 0, the connection dropped) and "
                     "were sent again as the exam page does; each still counts as a failure in the table: "
                     + "; ".join(f"{r['what']} of attempt {r['attempt']}: {r['error']}" for r in retries[:3]))
    if check["lost_examples"]:
        notes.append(f"lost answers, first ones: {check['lost_examples']}")
    for row in rows:
        if row.get("failures"):
            errs = [f for run_ in (start_run, save_run, submit_run, rush_run) for f in run_.failures]
            notes.append("failures: " + "; ".join(f"{f['count']} x {f['name']}: {f['error'][:100]}" for f in errs[:6]))
            break
    for label, run_ in (("start", start_run), ("autosave", save_run), ("submit", submit_run), ("rush", rush_run)):
        if not run_.stats.get("Aggregated", {}).get("requests"):
            notes.append(f"{label}: no request was made; locust said: " + " / ".join(run_.output_tail[-6:]))
    if server_errors:
        notes.append("server log: " + " / ".join(ctx.server.log_tail(8)))
    for label, row in (("autosave", autosave_row), ("submit", submit_row)):
        near, rps = r0_near.get(label), row.get("rps")
        if near and rps:
            row["ratio_to_r0_near"] = round(rps / near, 3)
            notes.append(f"{label}: R0 measured again just before the phase ({R0_NEAR_SECONDS} s, the same 16 users): "
                         f"{near:,.0f} req/s; the phase's {rps:,.0f} req/s is {rps / near:.3f} × that R0 (the table: "
                         f"against the run's R0).")
    for row, goal in ((autosave_row, AUTOSAVE_GOAL), (submit_row, SUBMIT_GOAL)):
        if not row["goal_met"] and row.get("ratio_to_r0") is not None:
            notes.append(f"{row['name']}: {row['ratio_to_r0']:.3f} × R0, {goal - row['ratio_to_r0']:.3f} short of "
                         f"the goal {goal}; see the profile for what limits it.")
    rows[-1]["goal"] = "0 lost, 0 5xx, all finished once"
    rows[-1]["goal_met"] = zero_loss and server_errors == 0
    return {
        "rows": rows,
        "goal": "0 lost answers, 0 server errors, every attempt finished once",
        "goal_met": zero_loss and server_errors == 0,
        "check": check,
        "notes": notes,
        "profile": profiles,
    }
