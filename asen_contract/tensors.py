"""Names, dtypes and shapes of every model and tensor in the Triton model repository.

The exporter names the ONNX graphs' tensors and writes every config from `signatures`; the
Triton Python models, the gateway, the benchmarks and the tests use the same names. The tables
in models_repo/README.md document them (a test checks the README against real exports).

Shapes are per row: the batch axis B is implicit (Triton's `max_batch_size` > 0) and -1 is the
attribute axis K (any number of attribute ids for one image; rows batched together share K).
"""

from __future__ import annotations

from dataclasses import dataclass

# -- models ---------------------------------------------------------------------------------------
ENSEMBLE = "asen"
PREPROCESS = "preprocess"
GLOBAL_BACKBONE = "global_backbone"
GLOBAL_HEAD = "global_head"
ROI_CROP = "roi_crop"
LOCAL_BRANCH = "local_branch"

# -- tensors --------------------------------------------------------------------------------------
IMAGE = "IMAGE"  # encoded image bytes, one per row
ATTRIBUTE = "ATTRIBUTE"  # attribute ids asked for the row's image
EMBEDDING = "EMBEDDING"  # the served (fused, normalised) embedding
ROI = "ROI"  # x0, y0, x1, y1 of the local crop in original-image pixels
ATTENTION = "ATTENTION"  # the global branch's spatial attention map
GLOBAL_IMAGE = "GLOBAL_IMAGE"  # pre-processed global input
ATTRIBUTE_IDS = "ATTRIBUTE_IDS"  # range-checked attribute ids
FEATURES = "FEATURES"  # the global backbone's feature map
GLOBAL_EMBEDDING = "GLOBAL_EMBEDDING"  # the raw global embedding (ASEN++ only)
LOCAL_IMAGE = "LOCAL_IMAGE"  # pre-processed RoI crop

ANY = -1  # a dimension of any length: the attribute axis K


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str  # Triton's data type name: TYPE_FP32, TYPE_INT32, TYPE_STRING
    dims: tuple[int, ...]  # one row's shape (no batch axis); ANY = the attribute axis K


@dataclass(frozen=True)
class Signature:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


@dataclass(frozen=True)
class Geometry:
    """The sizes a checkpoint gives the tensors.

    global_size S, local_size L (0: a global-only model), the global feature map C x h x w, and
    embed_size E (D = 2E fused for ASEN++, E for a global-only model).
    """

    global_size: int
    local_size: int
    channels: int
    attention_hw: tuple[int, int]
    embed_size: int

    @property
    def has_local(self) -> bool:
        return self.local_size > 0

    @property
    def embedding_dim(self) -> int:
        return 2 * self.embed_size if self.has_local else self.embed_size


def _fp32(name: str, *dims: int) -> TensorSpec:
    return TensorSpec(name, "TYPE_FP32", dims)


def _ids(name: str) -> TensorSpec:
    return TensorSpec(name, "TYPE_INT32", (ANY,))


_IMAGE = TensorSpec(IMAGE, "TYPE_STRING", (1,))


def signatures(geometry: Geometry) -> dict[str, Signature]:
    """Model name -> its tensors, for every model of the repository of this geometry."""
    s, lsize, e = geometry.global_size, geometry.local_size, geometry.embed_size
    d = geometry.embedding_dim
    h, w = geometry.attention_hw
    attention = _fp32(ATTENTION, ANY, h, w)
    roi = _fp32(ROI, ANY, 4)
    embedding = _fp32(EMBEDDING, ANY, d)
    features = _fp32(FEATURES, geometry.channels, h, w)
    result = {
        ENSEMBLE: Signature((_IMAGE, _ids(ATTRIBUTE)), (embedding, roi, attention)),
        PREPROCESS: Signature(
            (_IMAGE, _ids(ATTRIBUTE)), (_fp32(GLOBAL_IMAGE, 3, s, s), _ids(ATTRIBUTE_IDS))
        ),
        GLOBAL_BACKBONE: Signature((_fp32(GLOBAL_IMAGE, 3, s, s),), (features,)),
    }
    if geometry.has_local:
        local_image = _fp32(LOCAL_IMAGE, ANY, 3, lsize, lsize)
        global_embedding = _fp32(GLOBAL_EMBEDDING, ANY, e)
        result[GLOBAL_HEAD] = Signature((features, _ids(ATTRIBUTE)), (global_embedding, attention))
        result[ROI_CROP] = Signature((_IMAGE, attention), (roi, local_image))
        result[LOCAL_BRANCH] = Signature(
            (local_image, _ids(ATTRIBUTE), global_embedding), (embedding,)
        )
    else:  # the head ends the pipeline: its EMBEDDING is l2norm(global)
        result[GLOBAL_HEAD] = Signature((features, _ids(ATTRIBUTE)), (embedding, attention))
        result[ROI_CROP] = Signature((_IMAGE, attention), (roi,))
    return result
