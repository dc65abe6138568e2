"""Contact sheets of a search result: find the images (query file, result files by item id or
SHA-256 among the given paths) and draw one sheet per attribute."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from asen.catalogue.contact_sheet import SheetCell, save_contact_sheet
from asen.catalogue.sources import file_sha256, image_files
from asen.client.catalogue_results import CatalogueSearch


def search_sheet(
    result: CatalogueSearch,
    query_image: str | None,
    paths: Sequence[str],
    out: Path,
    label: str = "",
    query_label: str = "",
) -> list[Path]:
    """One sheet per attribute of `result`; `label` (a metadata label key): its value under
    each result, and under the query `query_label` (results that share it are marked)."""
    by_id: dict[str, Path] = {}
    by_sha: dict[str, Path] = {}
    if paths:
        for image in image_files(paths):
            by_id[image.relative] = image.path
            by_sha[file_sha256(image.path)] = image.path
    query_path = Path(query_image) if query_image and Path(query_image).is_file() else None
    if query_path is None and result.query_item_id:
        query_path = by_id.get(result.query_item_id)
    saved = []
    for name, group in result.results.items():
        query_title = f"query {result.query_item_id or (query_path.name if query_path else '')}"
        if label:
            query_title += f"\n{label}: {query_label or '?'}"
        cells = [SheetCell(_open(query_path), group.query_roi, query_title, highlight=True)]
        for place, hit in enumerate(group.results, start=1):
            path = by_id.get(hit.item_id) or by_sha.get(hit.image_sha256)
            title = (
                f"{place}. {hit.item_id[-22:]}\n{hit.similarity:+.3f} "
                f"(g {hit.global_similarity:+.2f}, l {hit.local_similarity:+.2f})"
            )
            value = hit.metadata.labels.get(label, "") if label else ""
            if label:
                title += f"\n{label}: {value or '?'}"
            same = bool(label and query_label and value == query_label)
            cells.append(SheetCell(_open(path), hit.roi, title, match=same))
        target = (
            out if len(result.results) == 1 else out.with_name(f"{out.stem}_{name}{out.suffix}")
        )
        heading = f"{name}: top {len(group.results)} (model {result.model_version[:40]})"
        saved.append(save_contact_sheet(cells, heading, target))
    return saved


def _open(path: Path | None) -> Image.Image | None:
    return Image.open(path).convert("RGB") if path is not None else None
