"""Closed-loop HTTP throughput (no think time) against the server of the run."""

from __future__ import annotations

from bench.context import HTTP_USERS
from bench.load import locust_available


def check_tool() -> bool | str:
    return locust_available()


def closed_loop(ctx, locustfile: str, request_name: str, *, full_s: int = 8, quick_s: int = 8,
                max_requests: int = 200_000, users: int = HTTP_USERS, profile: bool = True,
                profile_delay: float = 2.0, env: dict | None = None) -> tuple[dict, object]:
    """Measure, then (unless ``profile`` is False) profile a short second run with py-spy: the profile never
    overlaps the measured run, and starts ``profile_delay`` seconds into its run (after the users' set-up)."""
    tag = locustfile.removesuffix(".py")
    run = ctx.load(locustfile, run_time=ctx.seconds(full_s, quick_s), max_requests=max_requests, users=users, tag=tag,
                   env=env)
    row = ctx.row(run, request_name)
    result = {"rows": [row], "concurrency": users}
    notes = []
    if not row.get("requests"):
        notes.append("no request was measured; locust said: " + " / ".join(run.output_tail[-5:]))
    if row.get("failures"):
        notes.append("failures: " + "; ".join(f"{f['count']} x {f['name']}: {f['error'][:120]}"
                                              for f in run.failures[:5]))
    if row.get("server_errors"):
        notes.append("server log: " + " / ".join(ctx.server.log_tail(5)))
    result["notes"] = notes
    if profile:
        seconds = 3
        result["profile"] = ctx.profile(seconds, delay=profile_delay, during=lambda: ctx.load(
            locustfile, run_time=int(profile_delay + seconds + 2), max_requests=max_requests, users=users,
            tag=f"{tag}-profile", env=env))
    return result, run


def estimate_seconds(ctx) -> int:
    return 20  # measured run (8 s) + profile run (2 + 3 + 2 s) + two locust start-ups
