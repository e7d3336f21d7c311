"""Scenarios, in the order a run takes them. Each is a module with:

- ``NAME`` and ``TITLE``;
- ``available(app) -> bool | str``: True, or the reason it is skipped (a missing feature, a missing tool);
- ``run(ctx) -> dict``: figures for bench.report (``rows`` for HTTP load, ``figures`` and ``ratio`` for scale
  checks, ``goal``/``goal_met``, ``notes``, ``profile``). ``ctx`` is a bench.context.Context.

R0 comes first: the HTTP scenarios report their throughput as a ratio to it.
"""

from __future__ import annotations

import importlib

NAMES = [
    "r0_hello",
    "login_form",
    "home_page",
    "api_me",
    "exam_day",
    "roster_import",
    "question_import",
    "paper_assembly",
    "exam_statistics",
    "eligibility",
    "pdf_list",
]


def load(name: str):
    if name not in NAMES:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(NAMES)}")
    return importlib.import_module(f"bench.scenarios.{name}")


def all_scenarios():
    return [load(name) for name in NAMES]
