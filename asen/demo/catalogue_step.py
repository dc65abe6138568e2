"""The demo's catalogue step: index the synthetic test split through the gateway (each image's
attribute values as labels), search two queries by the best-learnt attribute, print the top
results with their values, and save contact sheets with the attention boxes."""

from __future__ import annotations

import random
from pathlib import Path

from asen.catalogue.sheet_job import search_sheet
from asen.client import AsenClient, CatalogueItem, ItemRef
from asen.data import load_dataset_spec
from asen.demo.showcase import test_images

TOP = 5


def catalogue_demo(
    client: AsenClient, data_root: Path, attribute: str, pictures: Path, seed: int = 0
) -> list[str]:
    """Run the step; returns the lines to print."""
    spec = load_dataset_spec(data_root)
    images = test_images(data_root)
    folder = images[0].path.parent
    items = [
        CatalogueItem(
            image.path.name,
            image.path,
            category="synthetic",
            labels={
                name: spec.value_name(spec.attribute_id(name), value)
                for name, value in image.values.items()
            },
        )
        for image in images
    ]
    results = list(client.upsert_items(items))
    failed = [r for r in results if not r.ok]
    lines = [
        f"indexed {len(results) - len(failed)} test images in the catalogue "
        f"({sum(r.cached for r in results)} from cached embeddings, {len(failed)} failed)"
    ]
    for query in random.Random(seed).sample(items, 2):
        found = client.search_items(
            ItemRef(query.item_id), [attribute], TOP, exclude_query_item=True
        )
        wanted = query.labels[attribute]
        hits = found.results[attribute].results
        lines.append(f"\nSearchItems: the {TOP} items whose {attribute} is most like "
                     f"{query.item_id}'s ({wanted}):")  # fmt: skip
        for place, hit in enumerate(hits, start=1):
            value = hit.metadata.labels.get(attribute, "?")
            mark = "match" if value == wanted else ""
            lines.append(f"  {place}. {hit.similarity:+.3f}  {hit.item_id:24s} {value:>10s} {mark}")
        matches = sum(h.metadata.labels.get(attribute) == wanted for h in hits)
        lines.append(f"  {matches}/{len(hits)} share the query's {attribute}")
        sheet = pictures / f"catalogue_{Path(query.item_id).stem}_{attribute}.png"
        for path in search_sheet(found, None, [str(folder)], sheet, attribute, wanted):
            lines.append(f"  contact sheet: {path}")
    return lines
