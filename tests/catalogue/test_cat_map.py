"""Served retrieval equals offline evaluation: the synthetic set's test candidates indexed
through the real gateway (embedded Milvus Lite file, exact index), every test query searched with
top_k = all candidates of its attribute; the official MAP of the served rankings equals
`asen evaluate`'s MAP of the same checkpoint to 1e-6."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from asen.catalogue.served_map import index_candidates, served_map
from asen.checkpoint import AttributeSpec
from asen.client import AsenClient
from asen.data.dataset import open_dataset
from asen.data.synth import generate_synthetic_dataset
from asen.data.synth.settings import SynthSettings

from .conftest import export_tiny, served_gateway


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "data"
    settings = SynthSettings(seed=5, train=24, valid=24, test=64, image_size=64, difficulty="hard")
    generate_synthetic_dataset(root, settings, progress=False)
    return open_dataset(root)


def test_served_map_equals_asen_evaluate(synthetic, tmp_path_factory) -> None:
    spec = synthetic.spec
    specs = [
        AttributeSpec(name, count, list(values))
        for name, count, values in zip(spec.attributes, spec.num_values, spec.value_names,
                                       strict=True)
    ]  # fmt: skip
    model = export_tiny(tmp_path_factory.mktemp("model"), seed=7, specs=specs, sizes=(64, 32))
    evaluated = subprocess.run(
        [sys.executable, "-m", "asen", "evaluate", "--checkpoint", str(model.checkpoint),
         "--data", str(synthetic.root), "--split", "test", "--json"],
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    offline = json.loads(evaluated.stdout)
    logs = tmp_path_factory.mktemp("logs")
    env = {
        "ASEN_CATALOGUE_URI": str(tmp_path_factory.mktemp("engine") / "catalogue.db"),
        "ASEN_CATALOGUE_MAX_TOP_K": "1000",
    }
    with (
        served_gateway(model, logs, env) as (_triton, gateway),
        AsenClient(gateway.address, timeout=120) as client,
    ):
        indexed = index_candidates(client, synthetic)
        stats = client.catalogue_stats()
        served = served_map(client, synthetic)
    assert stats.engine == "milvus-lite" and stats.versions[0].index_type == "FLAT"
    assert indexed == len(set(synthetic.candidates("test").image_ids.tolist()))
    assert served.model_version.startswith(offline["model_version"])  # + export settings
    assert set(served.per_attribute) == set(offline["per_attribute"])
    for name, row in offline["per_attribute"].items():
        assert served.per_attribute[name]["queries"] == row["queries"]
        assert served.per_attribute[name]["map"] == pytest.approx(row["map"], abs=1e-6), name
    assert served.overall_map == pytest.approx(offline["overall_map"], abs=1e-6)
