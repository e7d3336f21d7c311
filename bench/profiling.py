"""Profiles with py-spy (sampling, from bench/.venv): where the time goes when a goal is missed.

``profile_server`` samples the gunicorn workers while a load runs; ``profile_call`` samples this process while a
function runs. Both summarise the collapsed stacks as the functions with the most samples, by themselves (self)
and with what they call (inclusive).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

PY_SPY = Path(__file__).resolve().parent / ".venv" / "bin" / "py-spy"
FRAME_RE = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")
SITE = re.compile(r".*/(site-packages|lib/python3\.\d+)/")


def _short(frame: str) -> str:
    match = FRAME_RE.match(frame.strip())
    if not match:
        return frame.strip()
    path = SITE.sub("", match.group("file"))
    path = re.sub(r".*/(exam|question_bank|bench)/", r"\1/", path)
    return f"{match.group('func')} ({path})"


def summarise(raw: Path, top: int = 12) -> list[str]:
    self_counts: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    try:
        lines = raw.read_text(errors="replace").splitlines()
    except OSError:
        return ["(no profile written)"]
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_short(f) for f in stack.split(";") if f and not f.startswith("process ")
                  and not f.startswith("thread ")]
        if not frames:
            continue
        total += n
        self_counts[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return ["(no samples)"]
    out = [f"py-spy, {total} samples; self time (top {top}):"]
    out += [f"  {100 * c / total:5.1f}%  {f}" for f, c in self_counts.most_common(top)]
    out.append(f"inclusive time (top {top}, framework entry points excluded):")
    skip = ("run (threading", "_bootstrap", "handle (", "handle_request", "wsgi_app", "__call__", "dispatch_request",
            "full_dispatch_request", "process_request", "worker_loop", "run_for_one", "run (gunicorn", "<module>",
            "start (", "spawn_worker", "manage_workers", "init_process", "run_worker", "_run (", "accept (",
            "on_client_socket", "finish_request", "main (", "run_module", "_run_code", "wrapper (")
    shown = 0
    for frame, count in inclusive.most_common():
        if any(frame.startswith(s) or s in frame for s in skip) or "(bench/" in frame or count / total > 0.995:
            continue
        out.append(f"  {100 * count / total:5.1f}%  {frame}")
        shown += 1
        if shown >= top:
            break
    return out


def py_spy_available() -> bool:
    return PY_SPY.exists()


def profile_server(server, seconds: int, out: Path, during=None, delay: float = 1.0) -> list[str]:
    """Sample the workers for ``seconds``, starting ``delay`` seconds after ``during`` (a load run) began, so
    its set-up (sign-ins, first reads) stays out of the profile."""
    if not py_spy_available():
        return ["(py-spy is not installed: make bench installs bench/requirements.txt)"]
    raw = out.with_suffix(".raw")
    load = threading.Thread(target=during, daemon=True) if during is not None else None
    if load is not None:
        load.start()
    time.sleep(delay)
    proc = subprocess.Popen(
        [str(PY_SPY), "record", "--pid", str(server.proc.pid), "--subprocesses", "--duration", str(seconds),
         "--rate", "200", "--format", "raw", "--output", str(raw), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        _, err = proc.communicate(timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return ["(py-spy did not finish)"]
    finally:
        if load is not None:
            load.join(timeout=seconds + 120)
    if proc.returncode != 0 and not raw.exists():
        return [f"(py-spy failed: {(err or '').strip()[-200:]})"]
    return summarise(raw)


def profile_call(func, out: Path):
    """Run ``func()`` while py-spy samples this process; returns (result, summary lines)."""
    if not py_spy_available():
        return func(), ["(py-spy is not installed)"]
    raw = out.with_suffix(".raw")
    proc = subprocess.Popen(
        [str(PY_SPY), "record", "--pid", str(os.getpid()), "--rate", "100", "--format", "raw", "--output", str(raw),
         "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(1)
    try:
        result = func()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    return result, summarise(raw)
