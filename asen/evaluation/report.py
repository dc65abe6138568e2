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
        lines = [
            f"model {self.model_version or '(unnamed)'}, split {self.split}",
            f"{'attribute':<{width}}  {'queries':>8}  {'MAP %':>7}",
        ]
        for name, entry in self.per_attribute.items():
            lines.append(f"{name:<{width}}  {entry['queries']:>8}  {100 * entry['map']:>7.2f}")
        total = sum(int(entry["queries"]) for entry in self.per_attribute.values())
        lines.append(f"{'overall':<{width}}  {total:>8}  {100 * self.overall_map:>7.2f}")
        lines.append(
            f"triplet accuracy {100 * self.triplet_accuracy:.2f} % "
            f"({self.num_triplets} triplets); {self.seconds:.1f} s"
        )
        return "\n".join(lines)
