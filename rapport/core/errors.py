"""Errors that services raise and that views and the API turn into responses."""

from __future__ import annotations


class RapportError(Exception):
    """Base of the errors a person can act on."""

    status = 400
    title = "Bad request"

    def __init__(self, message: str = "", *, errors: dict[str, list[str]] | None = None):
        super().__init__(message or self.title)
        self.message = message or self.title
        self.errors = errors or {}


class ValidationFailed(RapportError):
    """Input was rejected; ``errors`` maps each field to the reasons."""

    status = 422
    title = "Invalid input"


class PermissionDenied(RapportError):
    status = 403
    title = "Not allowed"


class NotFound(RapportError):
    status = 404
    title = "Not found"


class Moved(NotFound):
    """The record was merged into another: ``target_id`` is where it lives now."""

    status = 301
    title = "Moved"

    def __init__(self, message: str = "", *, kind: str, target_id: int):
        super().__init__(message or f"This {kind} was merged into {kind} {target_id}.")
        self.kind = kind
        self.target_id = target_id


class VersionConflict(RapportError):
    """Someone else changed the record since the caller read it."""

    status = 412
    title = "The record was changed by someone else"

    def __init__(self, message: str = "", *, current_version: int | None = None):
        super().__init__(message)
        self.current_version = current_version


class Conflict(RapportError):
    status = 409
    title = "Conflict"
