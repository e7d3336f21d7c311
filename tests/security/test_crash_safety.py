"""Kill the server with SIGKILL in the middle of a stream of writes: every acknowledged write survives, once.

Runs on the suite's database: SQLite by default, PostgreSQL with DATABASE_URL.
"""

from __future__ import annotations

import pytest

from tests.security.crash_harness import WORKLOADS, Server, write_until_killed


@pytest.mark.parametrize("workload_class", WORKLOADS, ids=lambda w: w.name)
def test_acknowledged_writes_survive_a_sigkill_exactly_once(app, database_url, tmp_path, workload_class):
    workload = workload_class()
    state = workload.prepare(app)
    server = Server(database_url, tmp_path)
    server.start()
    try:
        first = write_until_killed(server, workload, state, kill_after=30)
        assert len(first.acknowledged) >= 30
        assert first.refused == 0, server.log_tail()

        server.start()  # same database, new processes
        problems = workload.check(app, state, first.acknowledged)
        assert not problems, "\n".join(problems)

        # The restarted server takes writes again, and a second crash loses nothing either.
        second = write_until_killed(server, workload, state, kill_after=10)
        problems = workload.check(app, state, first.acknowledged + second.acknowledged)
        assert not problems, "\n".join(problems)
    finally:
        server.kill()
