"""Benchmark suite: ``make bench`` (``python -m bench``). See bench/README.md.

Nothing here is imported by the product app; the load tool (locust) lives in its own virtualenv
(``bench/.venv``, from ``bench/requirements.txt``) and is run as a separate process.
"""
