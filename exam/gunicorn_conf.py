"""Production server settings (``gunicorn --config python:exam.gunicorn_conf wsgi:app``).

Two cores: 2 worker processes x 4 threads. Exam traffic is short database-bound requests; threads
cover the waits, processes the CPU. Override with GUNICORN_WORKERS / GUNICORN_THREADS.
"""

import os

workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
keepalive = 5
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
