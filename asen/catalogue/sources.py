"""Which image files a catalogue command works on, their item ids and their metadata.

Files: the image files (JPEG/PNG/WebP by extension) of the given folders (recursively, sorted)
and files. Item ids: `filename` = the path relative to its folder argument (the file name for a
file argument), `sha256` = the digest of the bytes. Metadata CSV: a header row with `item_id`
or `file` (matched against the id, the relative path or the file name), optional `category` and
`brand`, every other column a label (empty cells are left out).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from asen_contract.errors import AsenError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
ID_SOURCES = ("filename", "sha256")


@dataclass(frozen=True)
class SourceImage:
    path: Path
    relative: str  # the path under its folder argument (the name for a file argument)

    def item_id(self, ids_from: str) -> str:
        return file_sha256(self.path) if ids_from == "sha256" else self.relative


@dataclass(frozen=True)
class Metadata:
    category: str = ""
    brand: str = ""
    labels: dict[str, str] = field(default_factory=dict)


def image_files(arguments: Sequence[str | Path]) -> list[SourceImage]:
    found: list[SourceImage] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file() and file.suffix.lower() in IMAGE_SUFFIXES:
                    found.append(SourceImage(file, file.relative_to(path).as_posix()))
        elif path.is_file():
            found.append(SourceImage(path, path.name))
        else:
            raise AsenError(f"no such file or folder: {path}")
    if not found:
        raise AsenError("no image files (.jpg, .jpeg, .png, .webp) among the given paths")
    return found


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_metadata_csv(path: Path) -> dict[str, Metadata]:
    """Key (item_id or file) -> metadata; AsenError names the file and line of a problem."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            key = "item_id" if "item_id" in columns else "file" if "file" in columns else None
            if key is None:
                raise AsenError(f"{path}: the header needs an item_id or a file column")
            table: dict[str, Metadata] = {}
            for line, row in enumerate(reader, start=2):
                name = (row.get(key) or "").strip()
                if not name:
                    raise AsenError(f"{path}:{line}: empty {key}")
                if name in table:
                    raise AsenError(f"{path}:{line}: {name!r} appears twice")
                labels = {
                    column: value
                    for column, value in row.items()
                    if column not in (key, "category", "brand") and column and value
                }
                table[name] = Metadata(row.get("category") or "", row.get("brand") or "", labels)
            return table
    except OSError as error:
        raise AsenError(f"cannot read {path}: {error.strerror}") from None
    except csv.Error as error:
        raise AsenError(f"{path}: not a CSV file: {error}") from None


def metadata_for(table: dict[str, Metadata], image: SourceImage, item_id: str) -> Metadata:
    for key in (item_id, image.relative, image.path.name):
        if key in table:
            return table[key]
    return Metadata()
