"""Run a locust locustfile headless in its own process (bench/.venv) and read its CSV statistics.

Every run is bounded: ``--run-time`` and ``BENCH_MAX_REQUESTS`` (the locustfile stops itself at that count), and
the process is killed if it outlives both by a margin.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LOCUST = BENCH / ".venv" / "bin" / "locust"
LOCUSTFILES = BENCH / "locustfiles"
SERVER_ERROR = re.compile(r"(code=5\d\d|\b5\d\d Server Error|status 5\d\d)")


@dataclass
class LoadRun:
    stats: dict[str, dict]  # request name -> figures; "Aggregated" for all
    failures: list[dict]
    returncode: int
    output_tail: list[str]
    cpu: object = None  # the run's CPU samples (bench.cpu.Sampler)


def locust_available() -> bool | str:
    if not LOCUST.exists():
        return "locust is not installed: run `make bench` (it installs bench/requirements.txt into bench/.venv)"
    return True


def _float(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def run_locust(locustfile: str, host: str, *, users: int, spawn_rate: float, run_time: int, max_requests: int,
               work_dir: Path, env: dict | None = None, tag: str = "run", started=None) -> LoadRun:
    """``started``: called with the load tool's process id once it runs."""
    prefix = work_dir / f"locust-{tag}"
    environment = dict(os.environ, BENCH_MAX_REQUESTS=str(max_requests), **(env or {}))
    environment.pop("PYTHONPATH", None)
    args = [str(LOCUST), "-f", str(LOCUSTFILES / locustfile), "--headless", "--host", host,
            "-u", str(users), "-r", str(spawn_rate), "--run-time", f"{run_time}s", "--stop-timeout", "10",
            "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    proc = subprocess.Popen(args, cwd=BENCH, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    if started is not None:
        started(proc.pid)
    try:
        output, _ = proc.communicate(timeout=run_time + 90)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
    stats: dict[str, dict] = {}
    stats_file = Path(f"{prefix}_stats.csv")
    if stats_file.exists():
        with stats_file.open(newline="") as fh:
            for row in csv.DictReader(fh):
                name = row["Name"] if row["Type"] else "Aggregated"
                if row["Name"] == "Aggregated":
                    name = "Aggregated"
                stats[name] = {
                    "method": row["Type"],
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "rps": _float(row["Requests/s"]),
                    "p50": _float(row["50%"]),
                    "p95": _float(row["95%"]),
                    "p99": _float(row["99%"]),
                    "max": _float(row["Max Response Time"]),
                }
    failures: list[dict] = []
    failures_file = Path(f"{prefix}_failures.csv")
    if failures_file.exists():
        with failures_file.open(newline="") as fh:
            for row in csv.DictReader(fh):
                failures.append({"method": row["Method"], "name": row["Name"], "error": row["Error"],
                                 "count": int(row["Occurrences"])})
    for name, figures in stats.items():
        figures["server_errors"] = sum(
            f["count"] for f in failures
            if (name == "Aggregated" or f["name"] == name) and SERVER_ERROR.search(f["error"])
        )
    tail = (output or "").strip().splitlines()[-25:]
    return LoadRun(stats=stats, failures=failures, returncode=proc.returncode, output_tail=tail)
