"""`asen catalogue` against real gateways: add (resumable), search (JSON, contact sheet),
delete, stats; and `reindex` to a second model version while the first keeps serving."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from asen.client import AsenClient, ClientError

from ..gateway.gw_support import image_bytes
from .conftest import ATTRIBUTES, catalogue_env, served_gateway

COUNT = 10


@dataclass
class Catalogue:
    images: Path
    old: object  # gateway of model v1
    new: object  # gateway of model v2


@pytest.fixture(scope="module")
def catalogue(model_v1, model_v2, lite_server, tmp_path_factory) -> Iterator[Catalogue]:
    logs = tmp_path_factory.mktemp("logs")
    images = tmp_path_factory.mktemp("shop")
    for i in range(COUNT):
        (images / ("coats" if i % 2 else "dresses")).mkdir(exist_ok=True)
        folder = images / ("coats" if i % 2 else "dresses")
        (folder / f"look{i}.png").write_bytes(image_bytes(100 + i, (80, 64)))
    env = catalogue_env(lite_server.uri, ASEN_CATALOGUE_PREFIX="cli")
    with (
        served_gateway(model_v1, logs, env) as (_t1, old),
        served_gateway(model_v2, logs, env) as (_t2, new),
    ):
        yield Catalogue(images, old, new)


def asen(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "asen", "catalogue", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_add_is_resumable_and_reads_metadata(catalogue, tmp_path) -> None:
    csv = tmp_path / "meta.csv"
    csv.write_text("file,category,brand,season\nlook1.png,coat,acme,ss24\nlook2.png,dress,,aw24\n")
    first = asen("add", str(catalogue.images), "--address", catalogue.old.address,
                 "--metadata", str(csv), "--json")  # fmt: skip
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert (summary["indexed"], summary["skipped"], summary["failed"]) == (COUNT, 0, [])
    with AsenClient(catalogue.old.address) as client:
        assert client.delete_items(["coats/look3.png", "dresses/look4.png"]).deleted
    again = asen("add", str(catalogue.images), "--address", catalogue.old.address,
                 "--metadata", str(csv), "--json")  # fmt: skip
    summary = json.loads(again.stdout)
    assert (summary["indexed"], summary["skipped"]) == (2, COUNT - 2), "only what was missing"
    assert summary["cached"] == 2, "the gateway still had their embeddings"
    query = str(catalogue.images / "coats" / "look1.png")
    search = asen("search", query, "--attribute", "collar_design", "--top-k", "3",
                  "--address", catalogue.old.address, "--json")  # fmt: skip
    result = json.loads(search.stdout)
    assert set(result) == {"model_version", "attribute", "results"}
    assert result["attribute"] == "collar_design" and len(result["results"]) == 3
    best = result["results"][0]
    assert set(best) == {"item_id", "similarity", "global_similarity", "local_similarity",
                         "metadata"}  # fmt: skip
    assert best["item_id"] == "coats/look1.png"
    assert best["metadata"] == {"category": "coat", "brand": "acme", "labels": {"season": "ss24"}}


def test_search_sheet_filter_stats_delete(catalogue, tmp_path) -> None:
    sheet = tmp_path / "sheet.png"
    query = catalogue.images / "dresses" / "look0.png"
    done = asen("search", str(query), "--attribute", "sleeve_length", "--top-k", "4",
                "--address", catalogue.old.address, "--sheet", str(sheet),
                "--images", str(catalogue.images))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1." in done.stdout and "dresses/look0.png" in done.stdout
    with Image.open(sheet) as picture:
        assert picture.size[0] > 500 and picture.size[1] > 200
    bad = asen("search", str(query), "--attribute", "sleeve_length", "--filter", "brand = 'x'",
               "--address", catalogue.old.address)  # fmt: skip
    assert bad.returncode == 2
    assert "INVALID_ARGUMENT" in bad.stderr and "column 7" in bad.stderr
    stats = json.loads(asen("stats", "--address", catalogue.old.address, "--json").stdout)
    serving = next(v for v in stats["versions"] if v["serving"])
    assert serving["items"] >= COUNT and serving["state"] == "ready"
    gone = json.loads(asen("delete", "nope", "--address", catalogue.old.address, "--json").stdout)
    assert gone["not_found"] == ["nope"]


def test_reindex_to_a_new_model_version_while_the_old_serves(catalogue) -> None:
    with AsenClient(catalogue.old.address) as old, AsenClient(catalogue.new.address) as new:
        before = {i.item_id: i for i in old.list_items()}
        v1 = old.list_attributes().model_version
        v2 = new.list_attributes().model_version
        assert v1 != v2 and len(before) >= COUNT
        new.start_reindex(v1)
        with pytest.raises(ClientError) as caught:
            new.search_items(catalogue.images / "coats" / "look1.png", ["collar_design"], 3)
        assert caught.value.code == "UNAVAILABLE" and "being rebuilt" in caught.value.details
        still = old.search_items(catalogue.images / "coats" / "look1.png", ["collar_design"], 3)
        assert still.model_version == v1, "the old version keeps serving during a reindex"

        done = asen("reindex", str(catalogue.images), "--address", catalogue.new.address,
                    "--json")  # fmt: skip
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        assert summary["finished"] and summary["indexed"] == len(before) and not summary["missing"]

        after = {i.item_id: i for i in new.list_items()}
        assert set(after) == set(before)
        for item_id, item in before.items():
            assert after[item_id].image_sha256 == item.image_sha256
            assert after[item_id].metadata == item.metadata
            assert after[item_id].attributes == ATTRIBUTES
        stats = {v.model_version: v for v in new.catalogue_stats().versions}
        assert stats[v2].state == "ready" and stats[v2].source_version == v1
        assert stats[v2].items == stats[v1].items
        result = new.search_items(catalogue.images / "coats" / "look1.png", ["collar_design"], 1)
        assert result.model_version == v2
        assert result.results["collar_design"].results[0].item_id == "coats/look1.png"
        again = json.loads(asen("reindex", str(catalogue.images), "--address",
                                catalogue.new.address, "--json").stdout)  # fmt: skip
        assert (again["indexed"], again["skipped"]) == (0, len(before)), "resumable, idempotent"
