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


def test_evaluate_reports_localisation_with_a_region_file(tmp_path, capsys):
    """On a synthetic root (it has regions_test.txt) every attribute gets the pointing game and
    the RoI shares, computed from the same attention and boxes `asen embed` gives."""
    from asen.data.regions import read_regions
    from asen.data.synth import SYNTH_SPEC, SynthSettings, generate_synthetic_dataset
    from asen.evaluation.localisation import attention_peak, pointing_hit

    root = tmp_path / "synth"
    generate_synthetic_dataset(
        root, SynthSettings(seed=2, train=12, valid=12, test=12, image_size=64), progress=False
    )
    specs = [
        AttributeSpec(name, count)
        for name, count in zip(SYNTH_SPEC.attributes, SYNTH_SPEC.num_values, strict=True)
    ]
    model = tiny_checkpoint(
        tmp_path / "m.pt", tiny_config(len(specs)), specs, sharp_attention=True,
        dataset="synthetic-garments",
    )  # fmt: skip
    args = ["evaluate", "--checkpoint", str(model), "--data", str(root), "--no-progress"]
    assert main([*args, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    checkpoint = load_checkpoint(model)
    embedder = Embedder(checkpoint)
    names = (root / "filenames_test.txt").read_text().split()
    regions = read_regions(root / "regions_test.txt", SYNTH_SPEC, len(names))
    for attribute, name in enumerate(SYNTH_SPEC.attributes):
        entry = document["per_attribute"][name]
        assert entry["localised_pairs"] == 12
        hits = 0
        for image_id, file_name in enumerate(names):
            image = read_image_file(root / file_name)
            attention = embedder.embed_pairs([image], [attribute]).attention[0]
            peak = attention_peak(attention, image.size, checkpoint.config.global_size)
            hits += pointing_hit(peak, regions.of(image_id, attribute))
        assert entry["pointing"] == pytest.approx(hits / 12)
        for key in ("centre_pointing", "roi_in_region", "region_in_roi"):
            assert 0.0 <= entry[key] <= 1.0
        assert 0.0 < entry["chance_map"] < 1.0
        assert -1.0 <= entry["different_similarity"] <= 1.0
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "point %" in table and "chance" in table
    # Without the region file there is no localisation, and nothing fails.
    (root / "regions_test.txt").unlink()
    assert main([*args, "--json"]) == 0
    assert "pointing" not in json.loads(capsys.readouterr().out)["per_attribute"]["hem_length"]
