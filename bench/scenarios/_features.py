"""Runtime detection of features that other branches bring: a scenario runs only when its feature is there."""

from __future__ import annotations

import importlib


def find_callable(candidates: list[tuple[str, str]]):
    """The first ``module:function`` of the candidates that imports; None when none does."""
    for module_name, attr in candidates:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        func = getattr(module, attr, None)
        if callable(func):
            return func
    return None


def has_rule(app, *fragments: str) -> bool:
    """True when some URL rule contains every fragment (e.g. "/api/v1/exams/", "/attempts")."""
    return any(all(f in rule.rule for f in fragments) for rule in app.url_map.iter_rules())


def rule_for(app, method: str, *fragments: str):
    for rule in app.url_map.iter_rules():
        if method in (rule.methods or ()) and all(f in rule.rule for f in fragments):
            return rule
    return None


def describe(candidates: list[tuple[str, str]]) -> str:
    return ", ".join(f"{m}.{a}" for m, a in candidates)
