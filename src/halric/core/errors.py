"""The one error hierarchy of the hub. Domain code raises these; web/ and cli/ map them once."""

from __future__ import annotations


class HalricError(Exception):
    """Base class; ``status`` is the HTTP status the web layer answers with."""

    status = 400
    extra: dict[str, object] | None = None  # more JSON for the API answer (e.g. a list of findings)

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(HalricError):
    status = 400


class NotAuthenticated(HalricError):
    status = 401


class PermissionDenied(HalricError):
    status = 403


class NotFound(HalricError):
    status = 404


class Conflict(HalricError):
    status = 409


class Unprocessable(HalricError):
    status = 422


class TooManyRequests(HalricError):
    """``retry_after``: seconds until trying again makes sense (sent as the Retry-After header)."""

    status = 429

    def __init__(self, detail: str, *, field: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(detail, field=field)
        self.retry_after = retry_after


class SchemaOutOfDate(HalricError):
    """The database schema is not at the revision this code needs."""

    status = 503
