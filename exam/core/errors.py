"""Domain errors: raised by operations with a message a user can read."""

from __future__ import annotations


class DomainError(Exception):
    """Base for rule violations. ``message`` is already translated for the user."""

    status_code = 422
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, details: list | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or []


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class ImportRejected(DomainError):
    """A file was refused whole; ``details`` lists ``{"row": n, "message": ...}``."""

    code = "import_rejected"
