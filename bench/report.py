"""Write a run's results as Markdown and JSON, and copy the Markdown into bench/README.md.

A run is a dict: ``machine``, ``settings``, ``options``, ``duration_seconds`` and ``results`` (one dict per
scenario and database: ``scenario``, ``title``, ``db``, ``status`` ok/skipped/error, ``reason``, ``rows`` of HTTP
figures, ``figures`` of scale checks, ``ratio``, ``goal``, ``goal_met``, ``notes``, ``profile``).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

README_START = "<!-- bench:latest:start -->"
README_END = "<!-- bench:latest:end -->"

HTTP_COLUMNS = ["Scenario", "DB", "Request", "Requests", "Failures", "5xx", "req/s", "× R0", "p50 ms", "p95 ms",
                "p99 ms", "Goal"]


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return "–"
        if abs(value) < 0.1 and value != 0:
            return f"{value:.3f}"
        return f"{value:,.{digits}f}"
    return str(value)


def _ratio(value) -> str | None:
    if value is None:
        return None
    return f"{value:.3f}" if value < 1 else f"{value:.2f}"


def _cell(value) -> str:
    return _fmt(value).replace("|", "\\|").replace("\n", " ")


def _goal(result: dict, row: dict | None = None) -> str:
    source = row if row is not None else result
    goal, met = source.get("goal"), source.get("goal_met")
    if not goal:
        return ""
    if met is None:
        return goal
    return f"{goal}: {'met' if met else 'MISSED'}"


def render_markdown(run: dict, *, heading: bool = True) -> str:
    lines: list[str] = []
    if heading:
        lines += ["# Benchmark results (latest run)", ""]
    machine = run.get("machine", {})
    options = run.get("options", {})
    lines += [
        f"Run {machine.get('date', '?')} on commit `{machine.get('git_commit', '?')}`"
        f" ({'quick' if options.get('quick') else 'full-size'} run"
        f"{', selected scenarios (--only)' if options.get('only') else ', every scenario'},"
        f" databases: {', '.join(options.get('db', []))},"
        f" {_fmt(run.get('duration_seconds'), 0)} s).",
        "",
        "| Machine | |",
        "| --- | --- |",
    ]
    labels = [("cpu_model", "CPU"), ("cores", "Cores"), ("ram_gib", "RAM (GiB)"), ("os", "OS"),
              ("python", "Python"), ("sqlite", "SQLite"), ("postgresql", "PostgreSQL"), ("git_commit", "Commit"),
              ("load_average_1min_at_end", "Load average (1 min) at the end")]
    for key, label in labels:
        lines.append(f"| {label} | {_cell(machine.get(key))} |")
    lines += budget_lines(run)
    settings = run.get("settings") or {}
    if settings:
        lines += ["", "| Setting | Value |", "| --- | --- |"]
        for key, value in settings.items():
            lines.append(f"| {_cell(key)} | {_cell(value)} |")

    results = run.get("results", [])
    http = [r for r in results if r.get("rows")]
    if http:
        lines += ["", "## Load (HTTP, same server as R0)", "",
                  "| " + " | ".join(HTTP_COLUMNS) + " |", "|" + " --- |" * len(HTTP_COLUMNS)]
        for result in http:
            for row in result["rows"]:
                cells = [result["scenario"], result["db"], row.get("name"), row.get("requests"),
                         row.get("failures"), row.get("server_errors"), row.get("rps"), _ratio(row.get("ratio_to_r0")),
                         row.get("p50"), row.get("p95"), row.get("p99"), _goal(result, row)]
                lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += _cpu_lines(http)
    loads = [f"{r['scenario']}/{r['db']} {r['load_average_before']}" for r in results
             if r.get("load_average_before") is not None]
    if loads:
        lines += ["", f"Load average (1 min) of the machine as each scenario started ({machine.get('cores', '?')} "
                  "cores; above the core count, other work shared the CPU and the figures are low): "
                  + ", ".join(loads) + "."]
    scale = [r for r in results if r.get("figures") and not r.get("rows")]
    if scale:
        lines += ["", "## Scale checks", "", "| Scenario | DB | Figures | Ratio | Goal |",
                  "| --- | --- | --- | --- | --- |"]
        for result in scale:
            figures = "; ".join(f"{f['name']} {_fmt(f.get('value'), 2)} {f.get('unit', '')}".strip()
                                for f in result["figures"])
            ratio = _ratio(result.get("ratio"))
            if ratio and result.get("ratio_label"):
                ratio = f"{ratio} ({result['ratio_label']})"
            lines.append(f"| {_cell(result['scenario'])} | {_cell(result['db'])} | {_cell(figures)} |"
                         f" {_cell(ratio)} | {_cell(_goal(result))} |")
    other = [r for r in results if r.get("status") in {"skipped", "error"}]
    if other:
        lines += ["", "## Skipped or failed", ""]
        for result in other:
            lines.append(f"- **{result['scenario']}** ({result['db']}): {result['status']}: {result.get('reason', '')}")
    noted = [r for r in results if r.get("notes") or r.get("profile")]
    if noted:
        lines += ["", "## Notes and profiles", ""]
        for result in noted:
            lines.append(f"### {result['scenario']} ({result['db']})")
            lines.append("")
            for note in result.get("notes") or []:
                lines.append(f"- {note}")
            if result.get("profile"):
                lines += ["", "```", *result["profile"], "```"]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _cpu_lines(http: list[dict]) -> list[str]:
    """CPU milliseconds per request by party (bench/cpu.py), for the closed-loop rows that measured them."""
    from bench.cpu import per_request

    rows = [(result, row, ms) for result in http for row in result["rows"]
            if (ms := per_request(row.get("cpu_seconds"), row.get("cpu_requests")))]
    if not rows:
        return []
    lines = ["", "CPU per request (ms, all threads, in the steady part of the run; a closed loop that keeps the "
             "cores busy gives about cores × 1000 / the machine's ms req/s; busy: the share of the machine's time "
             "used at all; busiest worker: its share of the server's CPU, 1 / workers when the load is even; "
             "steal: the host's share of the machine's time):", "",
             "| Scenario | DB | Request | server | database | load tool | machine | busy | busiest worker | steal |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]

    def share(spent: dict, name: str) -> str | None:
        return f"{100 * spent[name]:.0f}%" if spent.get(name) is not None else None

    for result, row, ms in rows:
        spent = row["cpu_seconds"]
        cells = [result["scenario"], result["db"], row.get("name"), ms["server"], ms["database"] or None,
                 ms["load"], ms["busy"], share(spent, "busy_share"), share(spent, "busiest_worker_share"),
                 f"{100 * spent['steal_share']:.1f}%"]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def budget_lines(run: dict) -> list[str]:
    """Where the run's time went, against the budget (the issue: `make bench` under 15 minutes)."""
    budget = run.get("budget")
    if not budget:
        return []
    parts = []
    if budget.get("setup_seconds") is not None:
        parts.append(f"virtualenvs, packages and catalogues {_fmt(budget['setup_seconds'], 0)} s")
    for db, seconds in (budget.get("database_setup_seconds") or {}).items():
        parts.append(f"{db} set-up {_fmt(seconds, 0)} s")
    parts.append(f"scenarios {_fmt(budget.get('scenario_seconds'), 0)} s")
    line = f"Time: {_fmt(budget.get('total_seconds'), 0)} s in all ({'; '.join(parts)})"
    if budget.get("budget_seconds"):
        verdict = "within" if budget.get("within_budget") else "OVER"
        line += (f", {verdict} the budget of {_fmt(budget['budget_seconds'], 0)} s"
                 f" (planned {_fmt(budget.get('planned_seconds'), 0)} s)")
    line += "."
    skipped = budget.get("skipped_for_time") or []
    if skipped:
        line += f" Skipped for time: {', '.join(skipped)} (see below for the commands that run them)."
    elif budget.get("budget_seconds"):
        line += " No scenario was skipped for time."
    timed = [f"{r['scenario']}/{r['db']} {_fmt(r['seconds'], 0)}"
             + (f" ({_fmt(r['estimate_seconds'], 0)})" if r.get("estimate_seconds") else "")
             for r in run.get("results", []) if r.get("seconds") is not None]
    out = ["", line]
    if timed:
        out += ["", "Seconds per scenario (estimate in brackets): " + ", ".join(timed) + "."]
    return out


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_results(run: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path, json_path = out_dir / "latest.md", out_dir / "latest.json"
    _atomic_write(json_path, json.dumps(run, ensure_ascii=False, indent=2, default=str) + "\n")
    _atomic_write(md_path, render_markdown(run))
    return md_path, json_path


def update_readme(readme: Path, run: dict) -> bool:
    """Replace the block between the markers with the latest figures; False when the markers are missing."""
    if not readme.exists():
        return False
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return False
    body = render_markdown(run, heading=False).replace("\n## ", "\n### ")
    new = text[: start + len(README_START)] + "\n" + body + text[end:]
    _atomic_write(readme, new)
    return True
