"""The benchmarks' one way of handing over figures: the JSON report on stdout, and with `--out`
the same text in a file under that folder (the reports quoted in docs/ are such files)."""

from __future__ import annotations

import json
from pathlib import Path


def publish(report: dict, out: Path | None, filename: str) -> None:
    """Print `report` as indented JSON; with `out`, also write it to `out/filename`."""
    text = json.dumps(report, indent=2)
    print(text)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / filename).write_text(text + "\n")
