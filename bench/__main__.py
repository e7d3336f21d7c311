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
    parser.add_argument("--budget", type=int, default=840,
                        help="seconds for the whole run (default %(default)s, 0: none); a scenario whose estimate "
                             "would overrun it is skipped and says so")
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
    return 1000 if db == "sqlite" else 2000


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


def run_group(ctx: Context, names: list[str], deadline: float | None = None) -> list[dict]:
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
            estimate = getattr(module, "estimate_seconds", lambda _ctx: 30)(ctx)
            if deadline is not None and time.monotonic() + estimate > deadline:
                reason = (f"over the run's time budget (needs about {estimate} s, "
                          f"{max(0, deadline - time.monotonic()):.0f} s left); run it with --only {name}")
                entry.update(status="skipped", reason=reason)
                print(f"[{db}] {name}: skipped: {reason}", flush=True)
                results.append(entry)
                continue
            started = time.monotonic()
            entry["load_average_before"] = load_average()
            print(f"[{db}] {name}: running...", flush=True)
            try:
                entry.update(module.run(ctx))
                entry.setdefault("status", "ok")
            except Exception as exc:
                entry.update(status="error", reason=f"{exc!r}",
                             traceback=traceback.format_exc().splitlines()[-8:])
                traceback.print_exc()
            entry["seconds"] = round(time.monotonic() - started, 1)
            print(f"[{db}] {name}: {entry['status']} in {entry['seconds']} s", flush=True)
            results.append(entry)
    finally:
        ctx.stop_server()
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    names = selected_names(args.only)
    databases = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    started = time.monotonic()
    work_root = Path(tempfile.mkdtemp(prefix="exam-bench-"))
    results: list[dict] = []
    deadline = started + args.budget if args.budget else None
    # The load scenarios (the core) run first on every database, then the scale checks: when the
    # budget runs short it is a scale check that waits for --only, not the exam day.
    groups = [[n for n in names if n in LOAD_NAMES], [n for n in names if n not in LOAD_NAMES]]
    contexts: dict[str, Context | str] = {}
    try:
        for group in filter(None, groups):
            for db in databases:
                if db not in contexts:
                    url = sqlite_url(work_root / db) if db == "sqlite" else args.pg_url
                    (work_root / db).mkdir(parents=True, exist_ok=True)
                    contexts[db] = prepare(db, url, args.quick, work_root)
                ctx = contexts[db]
                if isinstance(ctx, str):
                    results += [{"scenario": n, "db": db, "status": "error", "reason": ctx} for n in group]
                    continue
                results += run_group(ctx, group, deadline)
    finally:
        run = {
            "machine": describe(args.pg_url if "postgresql" in databases else None),
            "settings": settings(args.pg_url),
            "options": {"quick": args.quick, "db": databases, "only": names if args.only else None,
                        "budget_seconds": args.budget},
            "duration_seconds": round(time.monotonic() - started, 1),
            "results": results,
        }
        md, js = report.write_results(run, args.out)
        if not args.no_readme and report.update_readme(BENCH / "README.md", run):
            print("bench/README.md updated", flush=True)
        print(f"wrote {md} and {js} ({run['duration_seconds']:.0f} s)", flush=True)
        shutil.rmtree(work_root, ignore_errors=True)
    failed = [r for r in results if r.get("status") == "error"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
