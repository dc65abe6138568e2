"""Read every file of a data set root and describe it: counts per split and attribute, plus
warnings for what would make training or evaluation quietly wrong (a value with too few training
images for triplets, an attribute without queries, a queried value without any candidate)."""

from __future__ import annotations

from typing import Any

import numpy as np

from asen.data.dataset import FashionDataset
from asen.data.layout import EVAL_SPLITS, SPLITS


def summarize_dataset(dataset: FashionDataset) -> dict[str, Any]:
    """Validate all files (errors raise DataFormatError) and return a JSON-ready summary."""
    spec = dataset.spec
    warnings: list[str] = []
    images = {split: len(dataset.images(split)) for split in SPLITS}
    counts = dataset.train_labels().counts()
    attributes: list[dict[str, Any]] = []
    for attribute, name in enumerate(spec.attributes):
        per_value = counts[attribute]
        short = [value for value, count in enumerate(per_value) if count < 2]
        if short:
            warnings.append(
                f"{name}: {len(short)} value(s) with fewer than two training images "
                f"(triplet sampling needs two): ids {short[:10]}"
            )
        attributes.append(
            {
                "name": name,
                "num_values": spec.num_values[attribute],
                "train_images": int(sum(per_value)),
                "min_images_per_value": int(min(per_value)),
            }
        )
    for split in EVAL_SPLITS:
        queries, candidates = dataset.queries(split), dataset.candidates(split)
        for attribute, name in enumerate(spec.attributes):
            query_values = queries.values[queries.of_attribute(attribute)]
            candidate_values = candidates.values[candidates.of_attribute(attribute)]
            attributes[attribute][f"queries_{split}"] = int(len(query_values))
            attributes[attribute][f"candidates_{split}"] = int(len(candidate_values))
            if len(query_values) == 0:
                warnings.append(f"{split}: attribute {name} has no queries")
            orphans = np.setdiff1d(query_values, candidate_values)
            if len(orphans):
                warnings.append(
                    f"{split}: attribute {name}: queried value(s) {orphans[:10].tolist()} "
                    "have no candidate (their average precision is undefined)"
                )
    return {
        "root": str(dataset.root),
        "dataset": spec.name,
        "images": images,
        "attributes": attributes,
        "warnings": warnings,
    }
