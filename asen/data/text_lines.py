"""Read a data file's lines, turning I/O and encoding failures into DataFormatError."""

from __future__ import annotations

from pathlib import Path

from asen_contract.errors import DataFormatError


def read_lines(path: Path) -> list[str]:
    """Lines of a text data file; a missing or unreadable file is a DataFormatError."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError as error:
        raise DataFormatError(f"{path} does not exist") from error
    except UnicodeDecodeError as error:
        raise DataFormatError(f"{path}: not UTF-8 text ({error.reason})") from error
    except OSError as error:
        raise DataFormatError(f"{path}: cannot read: {error.strerror or error}") from error
