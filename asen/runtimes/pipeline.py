"""The served ensemble's steps in one process: the same graphs, pre-processing and RoI crop.

Used to calibrate INT8 graphs (it records what each graph is fed), to measure a precision's
cost against float32 (embeddings, RoI boxes) and as the bare-runtime limit the served ensemble
is compared with. A global-only model's head already returns the embedding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from PIL import Image

from asen.model.config import ModelConfig
from asen.runtimes.preprocessing import ExactPreprocessing
from asen.runtimes.sessions import GraphSession
from asen_contract.roi import source_boxes
from asen_contract.tensors import (
    ATTRIBUTE,
    FEATURES,
    GLOBAL_BACKBONE,
    GLOBAL_EMBEDDING,
    GLOBAL_HEAD,
    GLOBAL_IMAGE,
    LOCAL_BRANCH,
    LOCAL_IMAGE,
)

Feeds = dict[str, np.ndarray]
GRAPHS = (GLOBAL_BACKBONE, GLOBAL_HEAD, LOCAL_BRANCH)  # a global-only model: the first two


@dataclass
class PipelineOutput:
    """Row b, column k: image b embedded for its k-th attribute id."""

    embedding: np.ndarray  # [B, K, D]
    roi: np.ndarray  # [B, K, 4] x0, y0, x1, y1 in original-image pixels
    attention: np.ndarray  # [B, K, h, w]


class GraphPipeline:
    """`preprocessing`: `ExactPreprocessing` (Pillow, default), `FastPreprocessing` or
    `DevicePreprocessing`; the images given to `embed` are what its `decode` returns (PIL images
    for the default)."""

    def __init__(
        self, sessions: Mapping[str, GraphSession], config: ModelConfig, preprocessing=None
    ) -> None:
        self.sessions = sessions
        self.config = config
        self.preprocessing = preprocessing or ExactPreprocessing()

    def embed_encoded(self, blobs: list[bytes], attributes: list[list[int]]) -> PipelineOutput:
        """`embed` of encoded images, decoded by this pipeline's pre-processing."""
        return self.embed([self.preprocessing.decode(data) for data in blobs], attributes)

    def embed(
        self,
        images: list[Image.Image],  # or what the pre-processing's `decode` returns
        attributes: list[list[int]],
        record: dict[str, list[Feeds]] | None = None,
    ) -> PipelineOutput:
        """Images with K attribute ids each (the same K for every row), like one ensemble batch.

        `record`, when given, receives every graph's feeds under the graph's name.
        """
        config = self.config
        ids = np.asarray(attributes, dtype=np.int32)
        batch, count = ids.shape
        prep = self.preprocessing
        image_feed = np.stack([prep.global_input(img, config.global_size) for img in images])
        features = self._run(GLOBAL_BACKBONE, {GLOBAL_IMAGE: image_feed}, record)[0]
        head_embedding, attention = self._run(
            GLOBAL_HEAD, {FEATURES: features, ATTRIBUTE: ids}, record
        )
        sizes = [prep.size(image) for image in images]
        rois = source_boxes(attention, sizes, config.global_size, config.threshold)
        roi = np.asarray(rois, dtype=np.float32).reshape(batch, count, 4)
        if not config.has_local:
            return PipelineOutput(head_embedding, roi, attention)
        crops = np.stack(  # per image, all its boxes at once, as roi_crop does
            [
                crop
                for image, boxes in zip(images, rois, strict=True)
                for crop in prep.local_inputs(image, boxes, config.local_size)
            ]
        )
        local_feeds = {
            LOCAL_IMAGE: crops.reshape(batch, count, *crops.shape[1:]),
            ATTRIBUTE: ids,
            GLOBAL_EMBEDDING: head_embedding,
        }
        fused = self._run(LOCAL_BRANCH, local_feeds, record)[0]
        return PipelineOutput(fused, roi, attention)

    def _run(self, name: str, feeds: Feeds, record: dict[str, list[Feeds]] | None):
        if record is not None:
            record.setdefault(name, []).append(feeds)
        return self.sessions[name].run(feeds)
