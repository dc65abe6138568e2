"""Every file the project writes with torch: one envelope, one atomic write, one safe reader.

A written file is a dict {"format": KIND, "format_version": N, ...payload}, serialised in memory,
written to a temporary file in the same folder, flushed to disk and renamed over the target: an
interrupted save leaves the previous file intact, never a truncated one. The writer returns the
file's SHA-256, which is also what a reader gets back (the identity of a model file is the hash
of its bytes). Files are read with `weights_only=True`, so nothing in a file can run code.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from asen_contract.errors import CheckpointError

FORMAT_KEY = "format"
VERSION_KEY = "format_version"


@dataclass
class StoredFile:
    """A file's payload (without the envelope keys), its format version and SHA-256."""

    payload: dict[str, Any]
    version: int
    sha256: str


def save_torch_file(path: Path, kind: str, version: int, payload: dict[str, Any]) -> str:
    """Write {"format": kind, "format_version": version, **payload} atomically; return SHA-256."""
    buffer = io.BytesIO()
    torch.save({FORMAT_KEY: kind, VERSION_KEY: version, **payload}, buffer)
    data = buffer.getvalue()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
    return hashlib.sha256(data).hexdigest()


def read_torch_bytes(path: Path, what: str, safe_globals: Sequence[Any] = ()) -> tuple[Any, str]:
    """torch.load(weights_only=True) of any torch file, and the SHA-256 of its bytes.

    `what` names the file in messages ("checkpoint", "backbone weights", ...); `safe_globals`
    widens the weights-only unpickler for files that store plain numpy scalars.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} {path} does not exist")
    data = path.read_bytes()
    try:
        with torch.serialization.safe_globals(list(safe_globals)):
            content = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a bad or unsafe file
        raise CheckpointError(f"cannot read {what} {path}: {error}") from error
    return content, hashlib.sha256(data).hexdigest()


def read_torch_file(
    path: Path,
    kind: str,
    versions: Collection[int],
    what: str,
    not_this_kind: str = "",
    unversioned: int | None = None,
) -> StoredFile:
    """Read a file written by `save_torch_file` with the given kind and a supported version.

    `not_this_kind` is added to the message for a readable file of another kind (a hint such as
    "convert it first with ..."); `unversioned` is the version assumed for files written before
    the envelope carried one.
    """
    content, sha256 = read_torch_bytes(path, what)
    if not isinstance(content, dict) or content.get(FORMAT_KEY) != kind:
        hint = f" ({not_this_kind})" if not_this_kind else ""
        raise CheckpointError(f"{path} is not {_article(what)} {what}{hint}")
    payload = dict(content)
    del payload[FORMAT_KEY]
    version = payload.pop(VERSION_KEY, unversioned)
    if version not in versions:
        supported = ", ".join(str(v) for v in sorted(versions))
        raise CheckpointError(
            f"{path}: {what} format version {version} is not supported (this version reads "
            f"{supported}); was it written by a newer asen?"
        )
    return StoredFile(payload, int(version), sha256)


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"
