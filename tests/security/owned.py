"""Fixtures for owned objects: a hook each area uses to prove that another examinee gets 404.

In ``tests/<area>/owned_objects.py`` (found automatically) register one function per owned route::

    from tests.security.owned import owned_object

    @owned_object("exams.attempt", "GET")
    def attempt_of(app, owner):
        # create an attempt that belongs to ``owner`` (committed) and return the URL that shows it
        ...
        return f"/exams/attempts/{attempt.id}"

For methods other than GET, return ``(url, body)``: ``body`` is the form data (dict) or, for /api/ URLs,
the JSON. The matrix test signs in as the owner (must not get 401/403/404/5xx) and as another examinee
(must get 404 and leave the object unchanged).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path

OwnedFixture = Callable[..., object]
OWNED_FIXTURES: dict[tuple[str, str], OwnedFixture] = {}


def owned_object(endpoint: str, method: str = "GET"):
    def register(fn: OwnedFixture) -> OwnedFixture:
        key = (endpoint, method.upper())
        if key in OWNED_FIXTURES:
            raise ValueError(f"two owned-object fixtures for {key}")
        OWNED_FIXTURES[key] = fn
        return fn

    return register


def load_owned_fixtures() -> dict[tuple[str, str], OwnedFixture]:
    """Import every ``tests/<area>/owned_objects.py`` so its fixtures register."""
    tests_dir = Path(__file__).resolve().parent.parent
    for package in pkgutil.iter_modules([str(tests_dir)]):
        if package.ispkg and (tests_dir / package.name / "owned_objects.py").exists():
            importlib.import_module(f"tests.{package.name}.owned_objects")
    return OWNED_FIXTURES
