"""`asen evaluate` end to end on a tiny model: the printed MAP equals the official metric computed
from per-line embeddings (no caching, no batching)."""

import json

import numpy as np
import pytest

from asen.checkpoint import AttributeSpec, load_checkpoint
from asen.cli.main import main
from asen.inference import Embedder
from asen_contract.images import read_image_file

from ..factories import tiny_checkpoint, tiny_config
from .official_scorer import official_map
from .toy_dataset import ATTRIBUTES, write_toy_dataset


@pytest.fixture()
def tiny_model(tmp_path):
    specs = [AttributeSpec(name, count) for name, count in ATTRIBUTES]
    config = tiny_config(len(ATTRIBUTES))
    return tiny_checkpoint(tmp_path / "model.pt", config, specs, dataset="toy")


def test_evaluate_json_matches_official_metric(tmp_path, tiny_model, capsys):
    root = tmp_path / "data"
    lines = write_toy_dataset(root, np.random.default_rng(5), 12, 10, 24)
    code = main(
        ["evaluate", "--checkpoint", str(tiny_model), "--data", str(root), "--batch-size", "8"]
        + ["--json", "--no-progress"]
    )
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    checkpoint = load_checkpoint(tiny_model)
    assert document["model_version"] == checkpoint.model_version
    embedder = Embedder(checkpoint)
    names = (root / "filenames_test.txt").read_text().split()

    def embed(rows):
        return np.concatenate(
            [
                embedder.embed_pairs([read_image_file(root / names[f])], [a]).fused
                for f, a, _ in rows
            ]
        )

    q, c = lines["query"], lines["candidate"]
    for attribute, (name, _) in enumerate(ATTRIBUTES):
        qs, cs = q[q[:, 1] == attribute], c[c[:, 1] == attribute]
        expected = official_map(embed(qs), embed(cs), qs[:, 2], cs[:, 2])
        assert document["per_attribute"][name]["map"] == pytest.approx(expected, abs=1e-9)
        assert document["per_attribute"][name]["queries"] == len(qs)
    assert 0.0 <= document["triplet_accuracy"] <= 1.0


def test_evaluate_table_and_errors(tmp_path, tiny_model, capsys):
    root = tmp_path / "data"
    write_toy_dataset(root, np.random.default_rng(6), 8, 6, 10)
    assert (
        main(["evaluate", "--checkpoint", str(tiny_model), "--data", str(root), "--no-progress"])
        == 0
    )
    out = capsys.readouterr().out
    assert "colour" in out and "overall" in out and "triplet accuracy" in out
    # A data set whose attributes.json disagrees with the model is refused with a clear message.
    (root / "attributes.json").write_text(
        json.dumps({"name": "toy", "attributes": [{"name": "colour", "num_values": 4}]})
    )
    assert main(["evaluate", "--checkpoint", str(tiny_model), "--data", str(root)]) == 2
    assert "does not match the model" in capsys.readouterr().err
    assert main(["evaluate", "--checkpoint", str(tmp_path / "none.pt"), "--data", str(root)]) == 2
    assert "does not exist" in capsys.readouterr().err
