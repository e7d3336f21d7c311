"""``python -m bench [--quick] [--only NAME[,NAME]] [--db sqlite|postgresql|both]``: run, then write the results.

Writes bench/results/latest.md and latest.json and the figures block of bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import report
from bench.context import HTTP_USERS, Context, sqlite_url
from bench.machine import describe
from bench.scenarios import NAMES, load

BENCH = Path(__file__).resolve().parent
HTTP_NAMES = {"login_form", "home_page", "api_me", "exam_day"}
LOAD_NAMES = HTTP_NAMES | {"r0_hello"}
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test_bench"
# The limit for `make bench` on a fresh clone, the virtualenvs and packages included.
DEFAULT_BUDGET = 900
# Scenarios that render files and only read the database: once per run (on the first database), not per database.
ONCE_PER_RUN = {"pdf_list"}
# Seconds assumed for scenarios whose owners (other issues) measured them, when their module's own estimate is
# higher or missing: exam statistics about 90 s per database (#7), the PDF list about 60 s (#6).
ASSUMED_SECONDS = {"exam_statistics": 90, "pdf_list": 60}
# Database set-up (schema by the migrations, examinees with tokens): measured on the 2-core machine.
PREPARE_SECONDS = {"sqlite": 8, "postgresql": 12}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter runs and fewer examinees (a smoke test)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help=f"run only these scenarios (repeat or comma-separate): {', '.join(NAMES)}")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG),
                        help="PostgreSQL database to use (its public schema is dropped!); default %(default)s")
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    parser.add_argument("--no-readme", action="store_true", help="do not update bench/README.md")
    parser.add_argument("--budget", type=int, default=DEFAULT_BUDGET,
                        help="seconds for the whole run, counted from --started-at (default %(default)s: the "
                             "issue's 15 minutes; 0: none); a scenario whose estimate would overrun it is skipped "
                             "and says so, with the command that runs it alone")
    parser.add_argument("--started-at", type=float, default=None, metavar="EPOCH",
                        help="when `make bench` started (seconds since the epoch): the time its virtualenvs and "
                             "packages took counts in the budget and the report")
    return parser.parse_args(argv)


def selected_names(only: list[str]) -> list[str]:
    if not only:
        return list(NAMES)
    wanted = {n.strip() for item in only for n in item.split(",") if n.strip()}
    unknown = wanted - set(NAMES)
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}; known: {', '.join(NAMES)}")
    if wanted & HTTP_NAMES:
        wanted.add("r0_hello")  # ratios need the baseline of the same run
    return [n for n in NAMES if n in wanted]


def people_for(db: str, quick: bool) -> int:
    if quick:
        return 200
    # 1,000 on both: the rush's arrivals over 40 s need about 25 starts a second, which PostgreSQL gives on this
    # machine with room to spare (2,000 over 40 s did not fit: the clients timed out waiting for their start).
    return 1000


def settings(pg_url: str | None) -> dict:
    from exam import gunicorn_conf

    try:
        from exam.config import postgres_pool_options

        pool = ", ".join(f"{k}={v}" for k, v in postgres_pool_options().items())
    except ImportError:
        pool = "SQLAlchemy defaults (pool_size=5, max_overflow=10)"

    out = {
        "server": f"gunicorn {gunicorn_conf.workers} workers x {gunicorn_conf.threads} threads "
                  f"({gunicorn_conf.worker_class}), exam/gunicorn_conf.py, 127.0.0.1 only",
        "sqlite": "WAL, busy_timeout 30 s, synchronous FULL, foreign_keys ON, BEGIN IMMEDIATE for writes "
                  "(exam/core/db.py)",
        "postgresql pool (per worker)": pool,
        "client": f"locust {locust_version()} headless, FastHttpUser, {HTTP_USERS} users closed loop, same process "
                  "for every scenario, on the same machine",
    }
    return out


def locust_version() -> str:
    from importlib.metadata import PackageNotFoundError

    site = list((BENCH / ".venv" / "lib").glob("python3*/site-packages/locust-*.dist-info"))
    if site:
        return site[0].name.removeprefix("locust-").removesuffix(".dist-info")
    try:
        from importlib.metadata import version

        return version("locust")
    except PackageNotFoundError:
        return "not installed"


def load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def prepare(db: str, url: str, quick: bool, work_root: Path) -> Context | str:
    work_dir = work_root / db
    work_dir.mkdir(parents=True, exist_ok=True)
    ctx = Context(db=db, database_url=url, quick=quick, work_dir=work_dir, results_dir=work_root)
    print(f"[{db}] preparing the database ({people_for(db, quick)} examinees with tokens)...", flush=True)
    try:
        ctx.prepare(people_for(db, quick))
    except Exception as exc:
        traceback.print_exc()
        return f"database set-up failed: {exc!r}"
    print(f"[{db}] ready in {ctx.setup_seconds:.0f} s", flush=True)
    return ctx


def estimate(name: str, ctx: Context) -> int:
    """Seconds a scenario is expected to take on this database: its own ``estimate_seconds`` (30 s when it has
    none), capped by ASSUMED_SECONDS for the scenarios other issues own."""
    module = load(name)
    own = getattr(module, "estimate_seconds", None)
    seconds = int(own(ctx)) if own is not None else 30
    if name in ASSUMED_SECONDS:
        seconds = min(seconds, ASSUMED_SECONDS[name]) if own is not None else ASSUMED_SECONDS[name]
    return seconds


def plan(names: list[str], databases: list[str], quick: bool) -> list[tuple[str, str, int]]:
    """(database, scenario, estimated seconds) in the order of the run: the load scenarios (the issue's core) on
    every database first, then the scale checks; ONCE_PER_RUN scenarios on the first database only."""
    steps = []
    for group in ([n for n in names if n in LOAD_NAMES], [n for n in names if n not in LOAD_NAMES]):
        for db in databases:
            probe = Context(db=db, database_url="", quick=quick, work_dir=Path("."), results_dir=Path("."))
            steps += [(db, n, estimate(n, probe)) for n in group if n not in ONCE_PER_RUN or db == databases[0]]
    return steps


def run_group(ctx: Context, names: list[str], deadline: float | None = None,
              estimates: dict | None = None) -> list[dict]:
    """Run scenarios on one database, in order; the server stays up for the group and stops after it."""
    db = ctx.db
    results: list[dict] = []
    try:
        for name in names:
            module = load(name)
            entry = {"scenario": name, "title": module.TITLE, "db": db}
            try:
                available = module.available(ctx.app)
            except Exception as exc:
                available = f"availability check failed: {exc!r}"
            if available is not True:
                reason = str(available).removeprefix("skipped: ")
                entry.update(status="skipped", reason=reason)
                print(f"[{db}] {name}: skipped: {reason}", flush=True)
                results.append(entry)
                continue
            expected = (estimates or {}).get((db, name)) or estimate(name, ctx)
            entry["estimate_seconds"] = expected
            if deadline is not None and time.monotonic() + expected > deadline:
                reason = (f"over the run's time budget: needs about {expected} s, "
                          f"{max(0, deadline - time.monotonic()):.0f} s of the budget left; run it alone with "
                          f"`python -m bench --only {name} --db {db}`")
                entry.update(status="skipped", reason=reason)
                print(f"[{db}] {name}: skipped: {reason}", flush=True)
                results.append(entry)
                continue
            started = time.monotonic()
            entry["load_average_before"] = load_average()
            print(f"[{db}] {name}: running (about {expected} s)...", flush=True)
            try:
                entry.update(module.run(ctx))
                entry.setdefault("status", "ok")
            except Exception as exc:
                entry.update(status="error", reason=f"{exc!r}",
                             traceback=traceback.format_exc().splitlines()[-8:])
                traceback.print_exc()
            entry["seconds"] = round(time.monotonic() - started, 1)
            print(f"[{db}] {name}: {entry['status']} in {entry['seconds']} s (estimated {expected} s)", flush=True)
            results.append(entry)
    finally:
        ctx.stop_server()
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    names = selected_names(args.only)
    databases = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    started = time.monotonic()
    # Time already spent by `make bench` before this process (virtualenvs, packages, catalogues).
    before = max(0.0, time.time() - args.started_at) if args.started_at else 0.0
    work_root = Path(tempfile.mkdtemp(prefix="exam-bench-"))
    results: list[dict] = []
    deadline = started - before + args.budget if args.budget else None
    steps = plan(names, databases, args.quick)
    estimates = {(db, n): seconds for db, n, seconds in steps}
    planned = round(before + sum(PREPARE_SECONDS[db] for db in databases) + sum(estimates.values()))
    print(f"[plan] {len(steps)} scenario runs on {', '.join(databases)}: about {planned} s "
          f"({before:.0f} s of set-up before this process, "
          f"{sum(PREPARE_SECONDS[db] for db in databases)} s of database set-up, "
          f"{sum(estimates.values())} s of scenarios)"
          + (f" against a budget of {args.budget} s" if args.budget else ", no budget"), flush=True)
    if args.budget and planned > args.budget:
        print(f"[plan] the estimate is {planned - args.budget} s over the budget: the last scenarios that do not fit "
              "will be skipped and listed with the command that runs them alone", flush=True)
    contexts: dict[str, Context | str] = {}
    prepare_seconds: dict[str, float] = {}
    try:
        for group in ([n for n in names if n in LOAD_NAMES], [n for n in names if n not in LOAD_NAMES]):
            for db in databases:
                todo = [n for n in group if (db, n) in estimates]
                if not todo:
                    continue
                if db not in contexts:
                    url = sqlite_url(work_root / db) if db == "sqlite" else args.pg_url
                    (work_root / db).mkdir(parents=True, exist_ok=True)
                    began = time.monotonic()
                    contexts[db] = prepare(db, url, args.quick, work_root)
                    prepare_seconds[db] = round(time.monotonic() - began, 1)
                ctx = contexts[db]
                if isinstance(ctx, str):
                    results += [{"scenario": n, "db": db, "status": "error", "reason": ctx} for n in todo]
                    continue
                results += run_group(ctx, todo, deadline, estimates)
    finally:
        duration = round(time.monotonic() - started, 1)
        total = round(before + duration, 1)
        run = {
            "machine": describe(args.pg_url if "postgresql" in databases else None),
            "settings": settings(args.pg_url),
            "options": {"quick": args.quick, "db": databases, "only": names if args.only else None,
                        "budget_seconds": args.budget},
            "duration_seconds": duration,
            "budget": {
                "budget_seconds": args.budget or None,
                "setup_seconds": round(before, 1) if args.started_at else None,
                "database_setup_seconds": prepare_seconds,
                "planned_seconds": planned,
                "scenario_seconds": round(sum(r.get("seconds") or 0 for r in results), 1),
                "total_seconds": total,
                "within_budget": (total <= args.budget) if args.budget else None,
                "skipped_for_time": [f"{r['scenario']}/{r['db']}" for r in results
                                     if r.get("status") == "skipped" and "time budget" in r.get("reason", "")],
            },
            "results": results,
        }
        md, js = report.write_results(run, args.out)
        if not args.no_readme and report.update_readme(BENCH / "README.md", run):
            print("bench/README.md updated", flush=True)
        print(f"wrote {md} and {js} ({duration:.0f} s here, {total:.0f} s since `make bench` started)", flush=True)
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(work_root, ignore_errors=True)
    failed = [r for r in results if r.get("status") == "error"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
