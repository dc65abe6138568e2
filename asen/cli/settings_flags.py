"""Command-line flags generated from settings dataclasses (`asen.setting` fields).

Each field becomes one flag named after it (`batch_size` -> `--batch-size`; nested settings add
their prefix: `stage1.lr` -> `--stage1-lr`), with the field's default, help text, choices and
bounds; booleans get `--x/--no-x`. The parsed values are turned back into the same dataclasses,
and `settings_to_flags` writes the flags that reproduce a settings value (the demo prints the
`asen` commands it runs this way). So a default or a help text is never written twice.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from asen.setting import CLI, HELP, PREFIX, problem


@dataclasses.dataclass(frozen=True)
class _Flag:
    field: dataclasses.Field
    kind: type  # int, float, str, bool, Path or a settings dataclass
    optional: bool  # None is a valid value
    default: Any  # dataclasses.MISSING when required
    dest: str  # argparse destination (prefix + name)


def _flags(cls: type, default: Any, prefix: str, only: tuple[str, ...] | None) -> Iterator[_Flag]:
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if not field.metadata.get(CLI, True) or (only is not None and field.name not in only):
            continue
        kind, optional = _unwrap(hints[field.name])
        value = getattr(default, field.name) if default is not None else field.default
        yield _Flag(field, kind, optional, value, prefix + field.name)


def _unwrap(hint: Any) -> tuple[type, bool]:
    """`X | None` -> (X, True); `X` -> (X, False)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        kinds = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return kinds[0], True
    return hint, False


def _nested_prefix(flag: _Flag, prefix: str) -> str:
    own = flag.field.metadata.get(PREFIX)
    return prefix + (f"{flag.field.name}_" if own is None else own)


def add_settings_flags(
    parser: argparse.ArgumentParser,
    cls: type,
    default: Any = None,
    prefix: str = "",
    only: tuple[str, ...] | None = None,
) -> None:
    """Add one flag per field of `cls` (defaults from the instance `default`, else the fields')."""
    target: Any = parser
    for flag in _flags(cls, default, prefix, only):
        if dataclasses.is_dataclass(flag.kind):
            group = parser.add_argument_group(flag.field.metadata.get(HELP) or flag.field.name)
            add_settings_flags(group, flag.kind, flag.default, _nested_prefix(flag, prefix))  # type: ignore[arg-type]
            continue
        _add_flag(target, flag)


def _add_flag(parser: Any, flag: _Flag) -> None:
    metadata = dict(flag.field.metadata)
    name = "--" + flag.dest.replace("_", "-")
    help_text = metadata.get(HELP, "")
    if flag.kind is bool:
        state = "on" if flag.default else "off"
        parser.add_argument(
            name,
            dest=flag.dest,
            action=argparse.BooleanOptionalAction,
            default=flag.default,
            help=f"{help_text} (default: {state})",
        )
        return
    options: dict[str, Any] = {"dest": flag.dest, "type": _parser(flag.kind, metadata)}
    if flag.default is dataclasses.MISSING:
        options["required"] = True
    else:
        options["default"] = flag.default
        if flag.default is not None:
            help_text += " (default: %(default)s)"
    if metadata.get("choices") is not None:
        options["choices"] = metadata["choices"]
    else:
        options["metavar"] = flag.kind.__name__.upper() if flag.kind is not Path else "PATH"
    parser.add_argument(name, help=help_text, **options)


def _parser(kind: type, metadata: dict[str, Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a valid {kind.__name__}: {text!r}") from None
        message = "" if metadata.get("choices") else problem(value, metadata)
        if message:
            raise argparse.ArgumentTypeError(message)
        return value

    return parse


def settings_from_args(
    args: argparse.Namespace, cls: type, default: Any = None, prefix: str = "", **given: Any
) -> Any:
    """The `cls` value the parsed flags describe; `given` sets fields that are not flags."""
    values = dict(given)
    for flag in _flags(cls, default, prefix, None):
        if dataclasses.is_dataclass(flag.kind):
            values[flag.field.name] = settings_from_args(
                args, flag.kind, flag.default, _nested_prefix(flag, prefix)
            )
        elif hasattr(args, flag.dest):
            values[flag.field.name] = getattr(args, flag.dest)
        elif flag.default is not dataclasses.MISSING:
            values[flag.field.name] = flag.default
    return cls(**values)


def settings_to_flags(value: Any, default: Any = None, prefix: str = "") -> list[str]:
    """The flags that turn the defaults (of `default`, else of the fields) into `value`."""
    out: list[str] = []
    for flag in _flags(type(value), default, prefix, None):
        current = getattr(value, flag.field.name)
        if dataclasses.is_dataclass(flag.kind):
            out += settings_to_flags(current, flag.default, _nested_prefix(flag, prefix))
            continue
        if current == flag.default:
            continue
        name = flag.dest.replace("_", "-")
        if flag.kind is bool:
            out.append(f"--{name}" if current else f"--no-{name}")
        elif current is None:
            raise ValueError(f"{flag.dest}=None cannot be written as a flag")
        else:
            out += [f"--{name}", str(current)]
    return out
