"""The exam day's submit capacity phase, repeated: a phase of ``make bench`` measures little on a shared VM.

    .venv/bin/python -m bench.phases --db postgresql --reps 5

Each repetition: a fresh exam of the bench's blueprint, every examinee starts it (papers drawn at random, as in
the full run), R0 is measured next to the phase, then every examinee submits (closed loop, the bench's users).
Printed per phase: submits/s, × the R0 beside it, CPU per submit by party, how busy the machine was, the busiest
worker's share of the server's CPU, and the machine's CPU per submit divided by the load tool's CPU per request
(the load tool's work per request is the same in every phase, so this ratio follows the code, not the VM's speed
of the minute). Then the median × R0. Nothing is written to bench/results.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.__main__ import DEFAULT_PG, prepare
from bench.context import HTTP_USERS, sqlite_url
from bench.cpu import per_request
from bench.scenarios import exam_day


def phase(ctx, rep: int, users: int, pause: float) -> dict:
    exam_id = exam_day.create_exam(ctx.app, f"基准测试:重复{rep}", closes_in_seconds=3600, time_limit_minutes=60)
    _, started = exam_day._phase(ctx, f"start-{rep}", "start", exam_id, run_time=15,
                                 max_requests=len(ctx.tokens), users=users)
    assigned = ctx.work_dir / f"attempts-{rep}.txt"
    count = exam_day._write_assignments(assigned, started)
    time.sleep(pause)  # the starts' writes settle (autovacuum) before R0
    r0 = exam_day._r0_near(ctx, str(rep), users)
    run, acks = exam_day._phase(ctx, f"submit-{rep}", "submit", exam_id, run_time=10, max_requests=count,
                                users=users, extra={"BENCH_ATTEMPTS_FILE": str(assigned)})
    # req/s over the acknowledgements and the CPU over their span, as the full run's capacity rows
    row = {"name": "submit"}
    exam_day._from_acks(row, acks, "submit", {"rps": r0})
    exam_day._cpu_from_acks(row, run, acks, "submit")
    if not row.get("rps") or not r0:
        return {"rep": rep, "error": "too few submits or no R0"}
    return {"rep": rep, "submits": row["requests"], "rps": row["rps"], "r0": r0, "ratio": row["rps"] / r0,
            "ms": per_request(row.get("cpu_seconds"), row.get("cpu_requests")), "spent": row.get("cpu_seconds")}


def line(result: dict) -> str:
    if "error" in result:
        return f"phase {result['rep']}: {result['error']}"
    text = (f"phase {result['rep']}: {result['submits']} submits, {result['rps']:.0f}/s, R0 {result['r0']:.0f}/s, "
            f"{result['ratio']:.3f} × R0")
    ms, spent = result["ms"], result["spent"]
    if ms and spent:
        text += (f"; CPU ms server {ms['server']}, database {ms['database']}, load tool {ms['load']}, machine "
                 f"{ms['busy']}; busy {100 * spent['busy_share']:.0f}%")
        if spent.get("busiest_worker_share") is not None:
            text += f", busiest worker {100 * spent['busiest_worker_share']:.0f}%"
        if ms["load"]:
            text += f"; machine ÷ load tool {ms['busy'] / ms['load']:.2f}"
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.phases", description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--users", type=int, default=HTTP_USERS)
    parser.add_argument("--pause", type=float, default=3.0, help="seconds between the starts and R0")
    args = parser.parse_args(argv)
    work_root = Path(tempfile.mkdtemp(prefix="bench-phases-"))
    if args.db == "postgresql":
        url = args.pg_url  # (created when missing, and emptied, by the set-up)
    else:
        (work_root / "sqlite").mkdir()
        url = sqlite_url(work_root / "sqlite")
    ctx = prepare(args.db, url, False, work_root)
    if isinstance(ctx, str):
        print(ctx)
        return 1
    exam_day.seed_questions(ctx.app)
    results = []
    try:
        for rep in range(args.reps):
            results.append(phase(ctx, rep, args.users, args.pause))
            print(line(results[-1]), flush=True)
    finally:
        ctx.stop_server()
    ratios = [r["ratio"] for r in results if "ratio" in r]
    if ratios:
        print(f"median {statistics.median(ratios):.3f} × R0 over {len(ratios)} phases "
              f"({min(ratios):.3f}-{max(ratios):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
