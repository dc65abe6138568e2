"""Convert an official ASEN++ checkpoint into this project's checkpoint format.

The architecture is inferred from the weights, the attribute table comes from the named data set's
built-in metadata (official checkpoints carry neither), and the weights are loaded strictly:
a missing, unknown or mis-shaped parameter stops the import with a message, never a partial model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from asen.checkpoint import attribute_specs, load_strict, map_keys, save_checkpoint
from asen.data.metadata import DatasetSpec, get_dataset_spec
from asen.model.config import ModelConfig
from asen.model.network import ASEN
from asen.official.architecture import infer_config
from asen.official.state_file import official_key, read_official_checkpoint
from asen_contract.errors import CheckpointError

_SHARED_TABLES = (
    "choices.global.attrnet.attr_embedding.weight",
    "choices.local.attrnet.attr_embedding.weight",
)


@dataclass
class ImportSummary:
    out: Path
    sha256: str
    model_version: str
    dataset: str
    config: ModelConfig
    official_metadata: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "sha256": self.sha256,
            "model_version": self.model_version,
            "dataset": self.dataset,
            "config": self.config.to_dict(),
            "official": self.official_metadata,
        }


def import_official(source: Path, dataset: str, out: Path, **settings: Any) -> ImportSummary:
    """Read `source`, check it against the data set, write `out`; `settings` are ModelConfig's
    non-weight fields (global_size, local_size, threshold, beta), paper defaults otherwise."""
    official = read_official_checkpoint(source)
    spec = get_dataset_spec(dataset)
    state = _complete_batch_counters(map_keys(official.state, official_key))
    config = infer_config(state, **settings)
    _check_attributes(config, spec)
    _check_shared_table(state)
    model = ASEN(config)
    load_strict(model, state, f"official checkpoint {source}")
    model.eval()
    attributes = attribute_specs(spec)
    extra = {
        "imported_from": "official ASEN++",
        "source_file": Path(source).name,
        "source_sha256": official.sha256,
    }
    extra.update({f"official_{key}": value for key, value in official.metadata.items()})
    sha256 = save_checkpoint(Path(out), model, attributes, dataset=spec.name.lower(), extra=extra)
    return ImportSummary(
        Path(out), sha256, f"ckpt-{sha256[:12]}", spec.name, config, official.metadata
    )


def _check_attributes(config: ModelConfig, spec: DatasetSpec) -> None:
    if config.num_attributes != spec.num_attributes:
        raise CheckpointError(
            f"the checkpoint's attribute table has {config.num_attributes} rows but {spec.name} "
            f"has {spec.num_attributes} attributes ({', '.join(spec.attributes)}): "
            "wrong --dataset for this checkpoint?"
        )


def _check_shared_table(state: dict[str, torch.Tensor]) -> None:
    """Both branches use one attribute table; two different copies cannot both be honoured."""
    tables = [state[key] for key in _SHARED_TABLES if key in state]
    if len(tables) == 2 and (
        tables[0].shape != tables[1].shape or not torch.equal(tables[0], tables[1])
    ):
        raise CheckpointError(
            "choices.global.attrnet and choices.local.attrnet differ; the official model shares "
            "one attribute table between its branches"
        )


def _complete_batch_counters(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Checkpoints from PyTorch < 0.4.1 lack BatchNorm's `num_batches_tracked` (unused at test
    time); add zeros only when ALL are absent, so a damaged file still fails the strict load."""
    if any(key.endswith(".num_batches_tracked") for key in state):
        return state
    completed = dict(state)
    for key in state:
        if key.endswith(".running_var"):
            completed[key[: -len("running_var")] + "num_batches_tracked"] = torch.tensor(0)
    return completed
