"""Settings declared once: a dataclass field carries its default, its help text and its bounds.

The library validates a settings object from these declarations (`check_settings`, raising
ConfigError that names the field), and the command line builds its flags from the same fields
(`asen.cli.settings_flags`), so a default, a help text or a limit is written in one place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from asen_contract.errors import ConfigError

HELP = "help"
CHOICES = "choices"
MINIMUM = "minimum"
MAXIMUM = "maximum"
PREFIX = "prefix"  # nested settings: prefix of their flags ("" = none)
CLI = "cli"  # False: not a command-line flag


def setting(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    choices: Sequence[Any] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    prefix: str | None = None,
    cli: bool = True,
) -> Any:
    """A dataclass field with its documentation and limits (`minimum`/`maximum` inclusive)."""
    metadata = {
        HELP: help,
        CHOICES: tuple(choices) if choices is not None else None,
        MINIMUM: minimum,
        MAXIMUM: maximum,
        PREFIX: prefix,
        CLI: cli,
    }
    return dataclasses.field(default=default, metadata=metadata)


def problem(value: Any, metadata: dict[str, Any]) -> str:
    """What is wrong with `value` for a field with these limits ("" when nothing is)."""
    if value is None:
        return ""
    choices = metadata.get(CHOICES)
    if choices is not None and value not in choices:
        return f"must be one of {', '.join(map(str, choices))}, got {value!r}"
    minimum, maximum = metadata.get(MINIMUM), metadata.get(MAXIMUM)
    if minimum is not None and value < minimum:
        return f"must be at least {minimum}, got {value}"
    if maximum is not None and value > maximum:
        return f"must be at most {maximum}, got {value}"
    return ""


def check_settings(settings: Any) -> None:
    """Raise ConfigError for the first field of a settings dataclass that breaks its limits."""
    for field in dataclasses.fields(settings):
        message = problem(getattr(settings, field.name), dict(field.metadata))
        if message:
            raise ConfigError(f"{field.name} {message}")
