"""The latency-table schema (``nascli/schemas/latency-table.schema.json``) and its validator.

The schema is a declared JSON Schema file shipped in the package, so a team can read the
rules a table must follow (and check a table with any JSON Schema tool). One rule JSON
Schema cannot say is enforced by the validator's type checker: a ``number`` is a finite
int or float, never a bool, NaN or an infinity (Python's ``json`` reads ``NaN`` and
``Infinity``; a NaN latency would pass every ``minimum`` and make every budget
comparison false).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources
from typing import Any

from nascli.errors import ConfigError

SCHEMA_FILE = "latency-table.schema.json"


def _finite_number(_checker: Any, instance: Any) -> bool:
    return (
        isinstance(instance, int | float)
        and not isinstance(instance, bool)
        and math.isfinite(instance)
    )


def _finite_integer(_checker: Any, instance: Any) -> bool:
    if isinstance(instance, bool):
        return False
    if isinstance(instance, int):
        return True
    return isinstance(instance, float) and math.isfinite(instance) and instance.is_integer()


def table_schema() -> dict[str, Any]:
    """The declared schema, read from the installed package."""
    text = resources.files("nascli").joinpath("schemas", SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine("number", _finite_number).redefine(
        "integer", _finite_integer
    )
    finite = jsonschema.validators.extend(base, type_checker=checker)
    schema = table_schema()
    base.check_schema(schema)
    return finite(schema)


def _where(error: Any) -> str:
    """``entries['conv:...'].min_ms`` style location of a validation error."""
    parts = []
    for part in error.absolute_path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif parts and ":" in str(part):
            parts.append(f"[{part!r}]")
        else:
            parts.append(f".{part}" if parts else str(part))
    return "".join(parts) or "top level"


def table_problems(data: Any, limit: int = 5) -> list[str]:
    """Up to ``limit`` schema violations of ``data`` (one line each), shallowest first."""
    errors = sorted(
        _validator().iter_errors(data),
        key=lambda e: (len(e.absolute_path), [str(p) for p in e.absolute_path]),
    )
    return [f"{_where(e)}: {e.message}" for e in errors[:limit]]


def validate_table_data(data: Any, source: str) -> None:
    """ConfigError naming the first problem (and how many more) if ``data`` breaks the schema."""
    problems = table_problems(data, limit=1_000)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(f"{source}: latency table schema: {problems[0]}{more}")
