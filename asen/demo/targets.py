"""The demo model's targets on the synthetic test split, checked on `asen evaluate --json` output.

Every attribute must be learnt (its MAP at least MAP_MARGIN above the chance level of random
rankings), same-value pairs must be more similar on average than different-value pairs, and the
global attention's peak must fall inside the attribute's region in at least POINTING of the test
images. `make demo` prints the table and fails (exit code 1) when a target is missed, so a
regression in the data, the training recipe or the model cannot hide behind a demo that "runs".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DemoTargets:
    map_margin: float = 0.10  # MAP - chance MAP, as fractions (10 points)
    pointing: float = 0.80


def missed_targets(
    report: Mapping[str, Any], targets: DemoTargets = DemoTargets(), label: str = "model"
) -> list[str]:
    """One line per missed target; empty when every attribute meets every target.

    `report` is an evaluation report as a dict (`EvaluationReport.to_dict()`, `asen evaluate
    --json`). A figure the report lacks (no region file: no pointing) counts as missed.
    """
    missed = []
    per_attribute = report.get("per_attribute") or {}
    if not per_attribute:
        return [f"{label}: the report has no attributes"]
    for name, entry in per_attribute.items():
        chance = entry.get("chance_map")
        if chance is None or entry["map"] < chance + targets.map_margin:
            missed.append(
                f"{label}: {name}: MAP {_pct(entry.get('map'))} is not "
                f"{100 * targets.map_margin:.0f} points above chance ({_pct(chance)})"
            )
        same, different = entry.get("same_similarity"), entry.get("different_similarity")
        if same is None or different is None or not same > different:
            missed.append(
                f"{label}: {name}: same-value pairs are not more similar than different-value "
                f"pairs ({_num(same)} vs {_num(different)})"
            )
        pointing = entry.get("pointing")
        if pointing is None or pointing < targets.pointing:
            missed.append(
                f"{label}: {name}: pointing game {_pct(pointing)} < {100 * targets.pointing:.0f}%"
            )
    return missed


def target_table(reports: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Lines of a table: per attribute, each report's MAP (chance), same/different, pointing."""
    names = list(next(iter(reports.values()))["per_attribute"])
    width = max(len("attribute"), *(len(n) for n in names))
    header = f"  {'attribute':<{width}}"
    for label in reports:
        header += f" | {label + ': MAP (chance)':>24} {'same':>6} {'diff':>6} {'point':>6}"
    lines = [header]
    for name in names:
        line = f"  {name:<{width}}"
        for report in reports.values():
            entry = report["per_attribute"].get(name, {})
            score = f"{_pct(entry.get('map'))} ({_pct(entry.get('chance_map'))})"
            line += f" | {score:>24} {_num(entry.get('same_similarity')):>6} "
            line += f"{_num(entry.get('different_similarity')):>6} {_pct(entry.get('pointing')):>6}"
        lines.append(line)
    return lines


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}"
