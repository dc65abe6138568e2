"""The result of one evaluation run, as a dataclass, a JSON object and a terminal table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class EvaluationReport:
    """MAPs are fractions in [0, 1]; the table shows percentages like the paper."""

    per_attribute: dict[str, dict[str, float | int]]  # name -> {"map": ..., "queries": ...}
    overall_map: float
    triplet_accuracy: float
    model_version: str
    split: str
    seconds: float
    num_triplets: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "split": self.split,
            "per_attribute": self.per_attribute,
            "overall_map": self.overall_map,
            "triplet_accuracy": self.triplet_accuracy,
            "num_triplets": self.num_triplets,
            "seconds": self.seconds,
            **self.extra,
        }

    def format_table(self) -> str:
        width = max([len("attribute"), *(len(name) for name in self.per_attribute)])
        entries = list(self.per_attribute.values())
        located = any("pointing" in entry for entry in entries)
        header = f"{'attribute':<{width}}  {'queries':>8}  {'MAP %':>7}  {'chance':>6}"
        header += f"  {'same':>6}  {'diff':>6}"
        if located:
            header += f"  {'point %':>7}  {'centre':>6}  {'RoI on':>6}  {'covers':>6}"
        lines = [f"model {self.model_version or '(unnamed)'}, split {self.split}", header]
        for name, entry in self.per_attribute.items():
            line = f"{name:<{width}}  {entry['queries']:>8}  {100 * entry['map']:>7.2f}"
            line += f"  {_percent(entry, 'chance_map'):>6}"
            line += f"  {_signed(entry, 'same_similarity'):>6}"
            line += f"  {_signed(entry, 'different_similarity'):>6}"
            if located:
                for key in ("pointing", "centre_pointing", "roi_in_region", "region_in_roi"):
                    line += f"  {_percent(entry, key):>{7 if key == 'pointing' else 6}}"
            lines.append(line)
        total = sum(int(entry["queries"]) for entry in self.per_attribute.values())
        lines.append(f"{'overall':<{width}}  {total:>8}  {100 * self.overall_map:>7.2f}")
        lines.append(
            f"triplet accuracy {100 * self.triplet_accuracy:.2f} % "
            f"({self.num_triplets} triplets); {self.seconds:.1f} s"
        )
        lines.append(
            "chance: MAP of random rankings; same/diff: mean similarity of pairs with the same / "
            "different value"
        )
        if located:
            lines.append(
                "point: attention peak inside the attribute's region (centre: the centre cell's "
                "rate); RoI on: share of the RoI box on the region; covers: share of the region "
                "inside the RoI box"
            )
        return "\n".join(lines)


def _percent(entry: dict[str, Any], key: str) -> str:
    return f"{100 * entry[key]:.1f}" if key in entry else "-"


def _signed(entry: dict[str, Any], key: str) -> str:
    return f"{entry[key]:+.3f}" if key in entry else "-"
