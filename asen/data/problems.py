"""Collect every problem of a data file, then raise one error that lists them.

Fixing a large label file one error per run is slow; the user sees all problems (up to a cap) with
file and line number at once.
"""

from __future__ import annotations

from pathlib import Path

from asen_contract.errors import DataFormatError

MAX_SHOWN = 20


class ProblemList:
    """Problems found in one file, each tied to a 1-based line number."""

    def __init__(self, path: Path, max_shown: int = MAX_SHOWN) -> None:
        self.path = Path(path)
        self.max_shown = max_shown
        self.problems: list[tuple[int, str]] = []

    def add(self, line_number: int, message: str) -> None:
        self.problems.append((line_number, message))

    def __len__(self) -> int:
        return len(self.problems)

    def message(self) -> str:
        count = len(self.problems)
        lines = [f"{count} problem{'s' if count != 1 else ''} in {self.path}:"]
        for line_number, text in self.problems[: self.max_shown]:
            lines.append(f"  {self.path}:{line_number}: {text}")
        if count > self.max_shown:
            lines.append(f"  ... and {count - self.max_shown} more")
        return "\n".join(lines)

    def raise_if_any(self) -> None:
        if self.problems:
            raise DataFormatError(self.message())
