"""`GraphPipeline` with `FastPreprocessing` feeds the local branch what the served `roi_crop`
computes with `--cpu-preprocess fast`: one reduced-scale decode per image, at the scale that keeps
the smallest of its boxes >= L (`fast_preprocess.local_inputs` of all the image's boxes), not one
decode per box at that box's own scale."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from asen.runtimes.pipeline import GLOBAL_BACKBONE, GLOBAL_HEAD, LOCAL_BRANCH, GraphPipeline
from asen.runtimes.preprocess_agreement import measure, odd_images
from asen.runtimes.preprocessing import ExactPreprocessing, FastPreprocessing
from asen.runtimes.sessions import open_session
from asen_contract import fast_preprocess
from asen_contract.tensors import LOCAL_IMAGE

from ..factories import tiny_config

GLOBAL, LOCAL = 224, 112


class Stub:
    """A graph session returning fixed outputs: the boxes then depend on `attention` alone."""

    def __init__(self, outputs) -> None:
        self.outputs = outputs

    def run(self, feeds):
        return self.outputs


def stub_sessions(attention: np.ndarray) -> dict:
    batch, count = attention.shape[:2]
    return {
        GLOBAL_BACKBONE: Stub([np.zeros((batch, 4, 7, 7), np.float32)]),
        GLOBAL_HEAD: Stub((np.zeros((batch, count, 8), np.float32), attention)),
        LOCAL_BRANCH: Stub([np.zeros((batch, count, 16), np.float32)]),
    }


def photo_jpeg(width: int, height: int) -> bytes:
    rng = np.random.default_rng(3)
    coarse = (rng.random((height // 40, width // 40, 3)) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(coarse).resize((width, height), Image.BILINEAR).save(buffer, "JPEG")
    return buffer.getvalue()


def test_local_inputs_are_the_served_roi_crops():
    attention = np.zeros((1, 2, 7, 7), np.float32)
    attention[0, 0, :6, :6] = 1  # attribute 0: most of the image
    attention[0, 1, 3, 3] = 1  # attribute 1: a small box, which decides the image's scale
    config = tiny_config(2, global_size=GLOBAL, local_size=LOCAL, threshold=0.5)
    data = photo_jpeg(1600, 1200)
    record: dict = {}
    pipeline = GraphPipeline(stub_sessions(attention), config, FastPreprocessing())
    out = pipeline.embed([pipeline.preprocessing.decode(data)], [[0, 1]], record)
    boxes = [tuple(box) for box in out.roi[0].astype(int).tolist()]
    sides = [x1 - x0 for x0, _, x1, _ in boxes]
    assert sides[0] >= 8 * LOCAL > sides[1]  # alone, the large box would be decoded at 1/8
    local = record[LOCAL_BRANCH][0][LOCAL_IMAGE]
    served = np.stack(
        fast_preprocess.local_inputs(data, boxes, LOCAL, pipeline.preprocessing.limits)
    )
    assert local.shape == (1, 2, 3, LOCAL, LOCAL)
    np.testing.assert_array_equal(local[0], served)
    alone = fast_preprocess.local_inputs(data, [boxes[0]], LOCAL, pipeline.preprocessing.limits)
    assert not np.array_equal(local[0, 0], alone[0])  # the test tells the two apart

    exact = GraphPipeline(stub_sessions(attention), config, ExactPreprocessing())
    assert np.array_equal(exact.embed_encoded([data], [[0, 1]]).roi, out.roi)  # the same boxes


def test_the_agreement_measures_the_fast_local_inputs(graphs):
    config, paths = graphs
    sessions = {name: open_session(path, "onnxruntime", 1) for name, path in paths.items()}
    named = [("800x600.jpg", photo_jpeg(800, 600)), ("1x1.png", odd_images()[0][1])]
    report = measure(sessions, config, named, FastPreprocessing())
    assert report["preprocessing"] == "fast" and report["worst_image"] == "800x600.jpg"
    assert report["max_abs_input_diff"] > 0 and report["pairs"] == 2 * config.num_attributes
