"""Owned objects of the study area, for the authorisation matrix."""

from __future__ import annotations

from tests.security.owned import owned_object


@owned_object("api_study.training_hours", "GET")
def training_hours_of(app, owner):
    return f"/api/v1/people/{owner.username}/training-hours?year=2026"
