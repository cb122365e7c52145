"""PEP 249 exception classes, and the one place DuckDB errors are mapped to them."""

from __future__ import annotations

import re

import duckdb


class Warning(Exception):  # noqa: A001 - the name is fixed by PEP 249
    """Important warnings, such as data truncation."""


class Error(Exception):
    """Base of every error sqlpredict raises."""


class InterfaceError(Error):
    """Misuse of the interface itself, such as a closed cursor."""


class DatabaseError(Error):
    """Errors that come from the database."""


class DataError(DatabaseError):
    """Bad values: NULL inputs under null_inputs='error', overflow, conversion."""


class OperationalError(DatabaseError):
    """Failures of the runtime or the engine: onnxruntime errors, interrupts, I/O."""


class IntegrityError(DatabaseError):
    """Constraint violations."""


class InternalError(DatabaseError):
    """The engine reached a state it should not."""


class ProgrammingError(DatabaseError):
    """Bad SQL: syntax, unknown objects, PREDICT binding, type and WITH mismatches."""


class NotSupportedError(DatabaseError):
    """T-SQL that sqlpredict does not run."""


_DUCKDB_MAP: list[tuple[type[BaseException], type[Error]]] = [
    (duckdb.ConstraintException, IntegrityError),
    (duckdb.ConversionException, DataError),
    (duckdb.OutOfRangeException, DataError),
    (duckdb.InterruptException, OperationalError),
    (duckdb.IOException, OperationalError),
    (duckdb.HTTPException, OperationalError),
    (duckdb.TransactionException, OperationalError),
    (duckdb.OutOfMemoryException, OperationalError),
    (duckdb.NotImplementedException, NotSupportedError),
    (duckdb.ParserException, ProgrammingError),
    (duckdb.SyntaxException, ProgrammingError),
    (duckdb.BinderException, ProgrammingError),
    (duckdb.CatalogException, ProgrammingError),
    (duckdb.InvalidInputException, ProgrammingError),
    (duckdb.InvalidTypeException, ProgrammingError),
    (duckdb.TypeMismatchException, ProgrammingError),
    (duckdb.DependencyException, ProgrammingError),
    (duckdb.PermissionException, ProgrammingError),
    (duckdb.InternalException, InternalError),
    (duckdb.FatalException, InternalError),
    (duckdb.IntegrityError, IntegrityError),
    (duckdb.DataError, DataError),
    (duckdb.ProgrammingError, ProgrammingError),
    (duckdb.NotSupportedError, NotSupportedError),
    (duckdb.OperationalError, OperationalError),
    (duckdb.InternalError, InternalError),
]


def from_duckdb(exc: BaseException) -> Error:
    """The PEP 249 class for a DuckDB error; the caller keeps it as __cause__."""
    if isinstance(exc, duckdb.InvalidInputException) and _is_bad_value(str(exc)):
        return DataError(str(exc))
    if "KeyboardInterrupt" in str(exc):  # Ctrl-C while DuckDB read an Arrow stream (PREDICT's DATA)
        return OperationalError(f"INTERRUPT Error: the statement was interrupted\n{exc}")
    for duck_cls, our_cls in _DUCKDB_MAP:
        if isinstance(exc, duck_cls):
            return our_cls(str(exc))
    return DatabaseError(str(exc))


# DuckDB's error types by the name its messages start with ("Conversion Error: ..."): an error raised
# inside a running statement can reach Python as an Arrow error that keeps only the message.
_DUCKDB_TYPES_BY_NAME: dict[str, type[Error]] = {
    "conversion": DataError, "out of range": DataError, "constraint": IntegrityError,
    "invalid input": ProgrammingError, "binder": ProgrammingError, "catalog": ProgrammingError,
    "interrupt": OperationalError, "io": OperationalError, "out of memory": OperationalError,
}
_DUCKDB_ERROR_NAME = re.compile(r"^(?P<name>[A-Za-z ]+?) Error: ")


def from_duckdb_message(message: str) -> Error | None:
    """The PEP 249 error for a DuckDB error known only by its message; None when it names no DuckDB error."""
    match = _DUCKDB_ERROR_NAME.match(message)
    cls = _DUCKDB_TYPES_BY_NAME.get(match["name"].lower()) if match else None
    if cls is None:
        return None
    return DataError(message) if _is_bad_value(message) else cls(message)


def _is_bad_value(message: str) -> bool:
    """PEP 249 names division by zero as a DataError, and so a value strptime cannot read (CONVERT with a
    date style); DuckDB files both as invalid input."""
    return "Division by zero" in message or "Could not parse string" in message


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def parse_error_text(exc: BaseException) -> str:
    """sqlglot's message without the terminal colour codes it uses to underline the spot."""
    return _ANSI.sub("", str(exc))
