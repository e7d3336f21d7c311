"""CPU time spent during a load run, by who spent it: the server's workers, the database server, the load tool,
and the machine as a whole (with the time the hypervisor took: steal).

Throughput on a shared 2-core virtual machine drifts with the host; the CPU a request costs drifts much less. A
closed loop that keeps the cores busy gives about the cores divided by the CPU per request (all parties); how busy
they were, and how evenly the server's workers shared the work, are read with it. Read from /proc (Linux);
elsewhere the figures are left out.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (all its threads); 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15 of stat)


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _machine() -> tuple[float, float, float]:
    """(busy, steal, total) seconds of all cores since boot, from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0, 0.0
    user, nice, system, idle, iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq
    return busy / TICK, steal / TICK, (busy + idle + iowait + steal) / TICK


@dataclass
class Snapshot:
    at: float  # time.time()
    server: float
    database: float
    load: float
    busy: float
    steal: float
    total: float
    workers: tuple[float, ...] = ()  # each server worker's CPU seconds (``server`` is their sum)


PARTIES = ("server", "database", "load", "busy")


class Sampler:
    """Snapshots every ``interval`` seconds in a thread while a load runs, so that the CPU of a window (the
    steady part of a run, or the span between the first and the last acknowledgement) can be read: the load
    tool's own start and end are left out."""

    def __init__(self, server_pids: list[int], database: bool, interval: float = 0.1):
        self.server_pids, self.database, self.interval = server_pids, database, interval
        self.load_pid: int | None = None  # the load tool, once started
        self.samples: list[Snapshot] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def snapshot(self) -> Snapshot:
        busy, steal, total = _machine()
        workers = tuple(_process_seconds(p) for p in self.server_pids)
        return Snapshot(at=time.time(), server=sum(workers),
                        database=sum(_process_seconds(p) for p in _postgres_pids()) if self.database else 0.0,
                        load=_process_seconds(self.load_pid) if self.load_pid else 0.0,
                        busy=busy, steal=steal, total=total, workers=workers)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.snapshot())
            self._stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def spent(self, start: float, end: float) -> dict | None:
        """CPU seconds by party between the first and the last sample within ``start`` and ``end`` (time.time()),
        that window (from, to, seconds), and the share of the machine's time the host took (steal)."""
        inside = [s for s in self.samples if start <= s.at <= end]
        if len(inside) < 2:
            return None
        first, last = inside[0], inside[-1]
        if last.total <= first.total:
            return None
        figures = {name: round(getattr(last, name) - getattr(first, name), 3) for name in PARTIES}
        figures["from"], figures["to"], figures["seconds"] = first.at, last.at, round(last.at - first.at, 3)
        figures["steal_share"] = round((last.steal - first.steal) / (last.total - first.total), 3)
        # how much of the machine's time was used at all: a closed loop that leaves cores idle is not limited
        # by the CPU alone (its req/s is then below cores x 1000 / the machine's ms per request)
        figures["busy_share"] = round((last.busy - first.busy) / (last.total - first.total), 3)
        # the busiest worker's share of the server's CPU (1 / workers when the load is even): the load tool's
        # connections stay with the worker that accepted them, and when one worker accepted most of them the
        # run measured little more than that worker's one core of Python
        worked = [b - a for a, b in zip(first.workers, last.workers, strict=True)]
        if len(worked) > 1 and sum(worked) > 0:
            figures["busiest_worker_share"] = round(max(worked) / sum(worked), 3)
        return figures


def per_request(seconds: dict | None, requests: float | None) -> dict | None:
    """Milliseconds of CPU per request by party (``Sampler.spent`` over the requests of its window)."""
    if not seconds or not requests:
        return None
    return {name: round(seconds[name] * 1000 / requests, 2) for name in PARTIES}
