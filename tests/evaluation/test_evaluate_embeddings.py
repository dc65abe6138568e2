"""evaluate_embeddings on a small data set written in the official layout by the test."""

import json

import numpy as np
import pytest

from asen.evaluation import evaluate_embeddings
from asen_contract.errors import AsenError

from .official_scorer import official_map
from .toy_dataset import ATTRIBUTES, write_toy_dataset


def _feature(image_id, attribute):
    vector = np.random.default_rng(image_id * 10 + attribute).standard_normal(6)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


class CountingEmbedder:
    def __init__(self):
        self.pairs = []

    def __call__(self, images, attributes):
        rows = []
        for image, attribute in zip(images, attributes, strict=True):
            image_id = image.getpixel((0, 0))[0] // 5
            self.pairs.append((image_id, attribute))
            rows.append(_feature(image_id, attribute))
        return np.stack(rows)


def test_matches_official_map_per_attribute(tmp_path):
    lines = write_toy_dataset(tmp_path, np.random.default_rng(0))
    embed = CountingEmbedder()
    report = evaluate_embeddings(
        embed, tmp_path, "test", batch_size=7, progress=False, model_version="m1"
    )
    q, c = lines["query"], lines["candidate"]
    total, weighted = 0, 0.0
    for attribute, (name, _) in enumerate(ATTRIBUTES):
        qs, cs = q[q[:, 1] == attribute], c[c[:, 1] == attribute]
        qf = np.stack([_feature(f, a) for f, a, _ in qs])
        cf = np.stack([_feature(f, a) for f, a, _ in cs])
        expected = official_map(qf, cf, qs[:, 2], cs[:, 2])
        assert report.per_attribute[name]["map"] == pytest.approx(expected, abs=1e-12)
        assert report.per_attribute[name]["queries"] == len(qs)
        total += len(qs)
        weighted += expected * len(qs)
    assert report.overall_map == pytest.approx(weighted / total, abs=1e-12)
    assert 0.0 <= report.triplet_accuracy <= 1.0 and report.num_triplets > 0
    assert report.model_version == "m1" and report.split == "test"
    # Each distinct (image, attribute) pair was embedded exactly once.
    distinct = {(int(f), int(a)) for f, a, _ in np.concatenate((q, c))}
    assert sorted(embed.pairs) == sorted(distinct)
    document = report.to_dict()
    assert json.loads(json.dumps(document))["overall_map"] == report.overall_map
    assert "overall" in report.format_table()


def test_label_aware_embeddings_score_perfectly(tmp_path):
    lines = write_toy_dataset(tmp_path, np.random.default_rng(1))
    labels = {}
    for f, a, v in np.concatenate((lines["query"], lines["candidate"])):
        labels.setdefault((int(f), int(a)), int(v))

    def oracle(images, attributes):
        ids = [image.getpixel((0, 0))[0] // 5 for image in images]
        return np.stack(
            [np.eye(8)[4 * a + labels[(i, a)]] for i, a in zip(ids, attributes, strict=True)]
        )

    report = evaluate_embeddings(oracle, tmp_path, "test", batch_size=16, progress=False)
    assert report.overall_map == pytest.approx(1.0)
    assert report.triplet_accuracy == 1.0


def test_bad_split_and_bad_embedding_shape(tmp_path):
    write_toy_dataset(tmp_path, np.random.default_rng(2))
    with pytest.raises(AsenError):
        evaluate_embeddings(CountingEmbedder(), tmp_path, "train", progress=False)
    with pytest.raises(ValueError, match="shape"):
        evaluate_embeddings(
            lambda images, attributes: np.zeros((1, 3)), tmp_path, "test", progress=False
        )


def test_corrupt_image_is_named(tmp_path):
    write_toy_dataset(tmp_path, np.random.default_rng(3))
    for path in (tmp_path / "images").iterdir():
        path.write_bytes(b"not an image")
    with pytest.raises(AsenError, match="images/"):
        evaluate_embeddings(CountingEmbedder(), tmp_path, "test", progress=False)
