"""Production server settings (``gunicorn --config python:exam.gunicorn_conf wsgi:app``).

Two cores: 2 worker processes x 8 threads, the same for SQLite and PostgreSQL. Exam traffic is short
database-bound requests; threads cover the waits, processes the CPU. Override with GUNICORN_WORKERS /
GUNICORN_THREADS.

Checked with the benchmark (bench/README.md, "Production settings"): on SQLite the exam day's saves and submits
of one worker share a commit (exam/exams/hot.py), so more threads make bigger groups: with the group writer
syncing outside the write lock, 8 threads gave autosave 0.47 x R0 against 0.40 with 4 (2026-12-03, the same
machine and run conditions); on PostgreSQL each thread holds one pooled connection (pool_size = threads,
exam/config.py). More workers than cores only share the CPU the requests already need.
"""

import os

workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
keepalive = 5
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
