"""The one error hierarchy of Umbrella's domain.

    DomainError                 anything a service refuses, with a message and context
    ├── NotFound                the object does not exist or the actor may not see it
    ├── Forbidden               the actor sees the object but may not do this to it
    ├── Conflict                a duplicate, or a record still in use
    │   └── StaleVersion        the change was based on a version that is no longer current
    ├── InvalidTransition       a step or change not allowed from the record's current state (in every app)
    ├── Invalid                 field errors: {field: [message, ...]}
    ├── ImportRejected          row errors of an import: [RowError, ...]; nothing was written
    ├── UnreadableFile          an import file that cannot be read at all (type, encoding, columns, archive)
    ├── PreconditionRequired    an API update came without If-Match
    └── PreconditionFailed      an API update's If-Match is not an ETag the API gave out

`Throttled` is not a refusal of the domain but of a sign-in: the attempt is refused before the password is checked.
`LedgerDamaged` is no refusal either: the ledger's stored tree (derived from its entries, `core.ledger_tree`) no
longer fits them, so no proof can be served from it; `umbrella ledger verify` reports what was changed.

Engines that import no Django keep their own errors (`catalog.nsn.NsnError`, `matching.problem_file.BadProblem`),
as does `config.ConfigurationError`, raised before Django is set up; the Django side maps them.

Errors carry context, never HTTP status codes: the API and the pages each map them once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext, ngettext


class DomainError(Exception):
    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context


class NotFound(DomainError):
    pass


class Forbidden(DomainError):
    pass


class Conflict(DomainError):
    pass


class StaleVersion(Conflict):
    def __init__(self, message: str, *, current_version: int, expected_version: int) -> None:
        super().__init__(message, current_version=current_version, expected_version=expected_version)
        self.current_version = current_version


class InvalidTransition(DomainError):
    pass


class Invalid(DomainError):
    def __init__(self, field_errors: dict[str, list[str]], message: str | None = None) -> None:
        super().__init__(message or gettext("The data is not valid."), field_errors=field_errors)
        self.field_errors = field_errors

    def __str__(self) -> str:
        details = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in self.field_errors.items())
        return f"{self.message} {details}".strip()


@dataclass(frozen=True)
class RowError:
    """One problem in one cell of an import file. `row` counts the header as row 1, as a spreadsheet does."""

    row: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column!r}, value {self.value!r}: {self.reason}"


class ImportRejected(DomainError):
    def __init__(self, row_errors: list[RowError]) -> None:
        count = len(row_errors)
        message = ngettext(
            "%(count)d problem found; nothing was written.", "%(count)d problems found; nothing was written.", count
        )
        super().__init__(message % {"count": count}, row_errors=row_errors)
        self.row_errors = row_errors


class UnreadableFile(DomainError):
    pass


class PreconditionRequired(DomainError):
    pass


class PreconditionFailed(DomainError):
    pass


class Throttled(Exception):
    """A sign-in attempt refused without checking the password; `reason` is pair, address or account."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LedgerDamaged(Exception):
    """A stored node, leaf hash or the head's frontier that a checkpoint or proof needs is missing or malformed."""
