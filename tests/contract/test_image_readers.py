"""Training, evaluation and `asen embed` read images through the contract's one decoder.

Each accepted format is written to a file and read by each reader; they must all see exactly the
pixels `decode_image` gives (the Triton models are checked the same way in
tests/triton_server/test_ensemble.py, the gateway's header check in tests/gateway).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from asen.cli.main import main
from asen.evaluation import pair_embeddings
from asen.training.image_store import ImageStore
from asen_contract import images
from asen_contract.images import decode_image

from ..factories import tiny_attributes, tiny_checkpoint, tiny_config
from .image_samples import format_samples

SAMPLES = format_samples(Image.new("RGB", (60, 44), (30, 90, 200)).rotate(15, fillcolor="white"))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("formats")
    paths = {}
    for name, data in SAMPLES.items():
        paths[name] = folder / f"{name}.img"
        paths[name].write_bytes(data)
    return paths


def test_training_and_evaluation_read_what_the_decoder_gives(files) -> None:
    names = sorted(files)
    store = ImageStore([files[n] for n in names], global_size=32, keep_sources=True)
    for index, name in enumerate(names):
        expected = np.asarray(decode_image(SAMPLES[name]))
        np.testing.assert_array_equal(np.asarray(store.source(index)), expected, err_msg=name)
    assert pair_embeddings.read_image_file is images.read_image_file  # evaluation's reader


def test_asen_embed_accepts_every_format(files, tmp_path, capsys) -> None:
    model = tiny_checkpoint(tmp_path / "m.pt", tiny_config(2), tiny_attributes(["collar", "hem"]))
    rois = {}
    for name, path in sorted(files.items()):
        args = ["embed", "--checkpoint", str(model), "--image", str(path), "--attribute", "hem"]
        assert main([*args, "--json"]) == 0, name
        rois[name] = json.loads(capsys.readouterr().out)["roi"]
    assert len(rois) == len(SAMPLES)
