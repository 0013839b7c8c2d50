"""Errors a person can act on, shared by the engine, the domain and both faces (pages and API)."""


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message, fields: dict | None = None):
        super().__init__(message)  # may be a lazy translation: rendered in the reader's language
        self.message = message
        self.fields = fields or {}

    @classmethod
    def on(cls, field: str, message):
        """The error about one field, its message said both for the whole and beside the field."""
        return cls(message, {field: [message]})


class InvalidData(AppError):
    """Form data a person must correct; `fields` maps field names to messages."""

    status, code = 400, "invalid"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    """The thing was changed by someone else first (already completed, already claimed)."""

    status, code = 409, "conflict"


class Unassignable(AppError):
    """The organisation has nobody for a step; an administrator must fix it."""

    status, code = 422, "unassignable"


class DefinitionFault(AppError):
    """The process definition failed while running (a runaway script, say); administrators must fix it."""

    status, code = 422, "definition_fault"


class StorageFault(AppError):
    """A stored file is damaged, or the file store cannot be reached: nothing a user can correct."""

    status, code = 503, "storage_fault"
