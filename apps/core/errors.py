"""Errors that services raise for callers (views, APIs, commands) to show to people."""

from __future__ import annotations

from dataclasses import dataclass, field


class ApplicationError(Exception):
    """A refusal a person can act on: bad input, a forbidden transition, a missing object."""

    def __init__(self, message: str, *, code: str = "invalid", extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.extra = extra or {}


class NotFoundError(ApplicationError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="not_found")


class PermissionDeniedError(ApplicationError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="permission_denied")


@dataclass(frozen=True)
class Problem:
    """One finding in an input document: where it is (file, YAML line, field path) and what is wrong."""

    message: str
    path: str = ""
    line: int | None = None
    column: int | None = None
    source: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
            if self.column is not None:
                where = f"{where}:{self.column}"
        parts = [p for p in (where, self.path) if p]
        prefix = " ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message

    def as_dict(self) -> dict:
        return {
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
        }


@dataclass
class ValidationFailed(ApplicationError):
    """A document was refused; `problems` lists every error found (nothing was written)."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        summary = "; ".join(str(p) for p in self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"{summary}{more}", code="validation_failed")
