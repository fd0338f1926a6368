"""API errors as the real kube-apiserver reports them: a `Status` object with a code and reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ApiError", "FieldError", "gone", "invalid", "status_object"]


def status_object(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None, *, success: bool = False
) -> dict[str, Any]:
    """Build a `v1 Status` body."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if success else "Failure",
    }
    if message:
        body["message"] = message
    if reason:
        body["reason"] = reason
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


class ApiError(Exception):
    """An error answered to the client as a `Status` body with an HTTP code."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        """The `Status` body of this error."""
        return status_object(self.code, self.reason, self.message, self.details)

    @staticmethod
    def _details(name: str, group: str, kind: str) -> dict[str, Any]:
        details: dict[str, Any] = {}
        if name:
            details["name"] = name
        if group:
            details["group"] = group
        details["kind"] = kind
        return details

    @classmethod
    def not_found(cls, group: str, plural: str, name: str) -> ApiError:
        qualified = f"{plural}.{group}" if group else plural
        return cls(404, "NotFound", f'{qualified} "{name}" not found', cls._details(name, group, plural))

    @classmethod
    def already_exists(cls, group: str, plural: str, name: str) -> ApiError:
        qualified = f"{plural}.{group}" if group else plural
        return cls(
            409, "AlreadyExists", f'{qualified} "{name}" already exists', cls._details(name, group, plural)
        )

    @classmethod
    def conflict(cls, group: str, plural: str, name: str, why: str) -> ApiError:
        qualified = f"{plural}.{group}" if group else plural
        return cls(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {qualified} "{name}": {why}',
            cls._details(name, group, plural),
        )

    @classmethod
    def forbidden(cls, group: str, plural: str, name: str, why: str) -> ApiError:
        qualified = f"{plural}.{group}" if group else plural
        return cls(
            403, "Forbidden", f'{qualified} "{name}" is forbidden: {why}', cls._details(name, group, plural)
        )

    @classmethod
    def bad_request(cls, message: str) -> ApiError:
        return cls(400, "BadRequest", message)

    @classmethod
    def unsupported_media_type(cls, content_type: str, accepted: list[str]) -> ApiError:
        return cls(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - accepted media types include: {', '.join(accepted)}",
        )

    @classmethod
    def method_not_allowed(cls, method: str) -> ApiError:
        return cls(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    @classmethod
    def unprocessable(cls, detail: str) -> ApiError:
        return cls(
            422,
            "Invalid",
            f"the server rejected our request due to an error in our request: {detail}",
            {},
        )

    @classmethod
    def path_not_found(cls) -> ApiError:
        return cls(404, "NotFound", "the server could not find the requested resource", {})


@dataclass
class FieldError:
    """One field error, rendered like apimachinery's `field.Error`."""

    field: str
    reason: str  # FieldValueRequired, FieldValueInvalid, ...
    body: str  # the part after "field: ", e.g. 'Required value'

    def render(self) -> str:
        return f"{self.field}: {self.body}" if self.field else self.body


def invalid(kind: str, group: str, name: str, errors: list[FieldError]) -> ApiError:
    """422 Invalid for a list of field errors, in the real server's message format."""
    qualified = f"{kind}.{group}" if group else kind
    rendered = [e.render() for e in errors]
    summary = rendered[0] if len(rendered) == 1 else "[" + ", ".join(rendered) + "]"
    details: dict[str, Any] = (
        {"name": name, "group": group, "kind": kind} if group else {"name": name, "kind": kind}
    )
    details["causes"] = [{"reason": e.reason, "message": e.body, "field": e.field} for e in errors]
    return ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {summary}', details)


def gone(message: str) -> ApiError:
    """410 Expired: a watch resourceVersion older than the kept history."""
    return ApiError(410, "Expired", message)
