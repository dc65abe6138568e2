"""The one way weights get into a module: mapped keys, then a strict load or a clear error.

ImageNet backbones, this project's checkpoints, official ASEN++ checkpoints and stage 2's start
from stage 1 all differ only in which keys of a file belong to the module and under what name.
A key map says that (new name, or None to leave the entry out); the load itself is always
strict: every parameter and buffer present with its shape, nothing unknown, never a partial
model. The error names the missing, unexpected and mis-shaped keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

from asen_contract.errors import CheckpointError

KeyMap = Callable[[str], str | None]
"""A file's key -> the module's key, or None to leave that entry out."""

SHOWN = 4  # keys named per kind of problem


def load_strict(
    module: nn.Module,
    state: Mapping[str, torch.Tensor],
    source: str,
    key_map: KeyMap | None = None,
) -> None:
    """Load `state` (keys passed through `key_map`) into `module`, all or nothing."""
    mapped = map_keys(state, key_map) if key_map is not None else dict(state)
    wanted = module.state_dict()
    missing = sorted(set(wanted) - set(mapped))
    unexpected = sorted(set(mapped) - set(wanted))
    wrong = sorted(
        f"{key} {tuple(mapped[key].shape)} != {tuple(wanted[key].shape)}"
        for key in set(mapped) & set(wanted)
        if tuple(mapped[key].shape) != tuple(wanted[key].shape)
    )
    problems = [
        _describe(missing, "missing", ", "),
        _describe(unexpected, "unexpected", ", "),
        _describe(wrong, "with the wrong shape", "; "),
    ]
    problems = [problem for problem in problems if problem]
    if problems:
        raise CheckpointError(f"{source}: parameters do not match the model: {'; '.join(problems)}")
    module.load_state_dict(mapped)


def map_keys(state: Mapping[str, torch.Tensor], key_map: KeyMap) -> dict[str, torch.Tensor]:
    """The entries `key_map` keeps, under their new names."""
    mapped: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = key_map(key)
        if name is not None:
            mapped[name] = value
    return mapped


def _describe(keys: list[str], kind: str, separator: str) -> str:
    if not keys:
        return ""
    return f"{len(keys)} {kind} (e.g. {separator.join(keys[:SHOWN])})"


def under_prefix(prefix: str) -> KeyMap:
    """Keep only the entries under `prefix`, without it (a sub-module's part of a state)."""

    def key_map(key: str) -> str | None:
        return key[len(prefix) :] if key.startswith(prefix) else None

    return key_map


def without_prefixes(*prefixes: str) -> KeyMap:
    """Leave out the entries under any of `prefixes` (parts the module does not have)."""

    def key_map(key: str) -> str | None:
        return None if key.startswith(prefixes) else key

    return key_map
