"""What the core needs from the model server (the Triton pool implements it; tests script it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from asen_contract.model_info import ModelInfo


@dataclass
class InferOutput:
    """Model outputs for B rows of K attributes each."""

    embeddings: np.ndarray  # [B, K, D] float32
    rois: np.ndarray  # [B, K, 4] float32
    attention: np.ndarray | None  # [B, K, h, w] float32 when requested
    model_version: str


class InferenceBackend(Protocol):
    """The served model and a way to run it. `infer` raises the error kinds of
    asen_contract.errors: InvalidInput for a bad row, Unavailable, Overloaded, DeadlineExceeded."""

    @property
    def model_info(self) -> ModelInfo | None:
        """The model being served, or None while no endpoint is ready."""
        ...

    async def infer(
        self,
        images: list[bytes],
        attribute_ids: list[list[int]],
        version: str,
        want_attention: bool,
        timeout: float | None,
    ) -> InferOutput: ...
