"""Resumable catalogue jobs through a gateway: `add` image files, `reindex` for a new model.

Both are resumable without local state: they list what the catalogue already holds (ListItems)
and skip every item stored with the same image, metadata and attributes, so an interrupted run
is simply run again. Per-item failures are collected and reported, never lost.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tqdm import tqdm

from asen.catalogue.sources import Metadata, SourceImage, file_sha256, metadata_for
from asen.client import AsenClient, CatalogueItem, UpsertResult
from asen.client.catalogue_results import ListedItem
from asen.client.client import ClientError
from asen_contract.errors import AsenError


@dataclass
class JobSummary:
    model_version: str = ""
    indexed: int = 0
    cached: int = 0  # indexed from cached embeddings (no Triton call)
    skipped: int = 0  # already in the catalogue as they are
    failed: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # reindex: no image file with that digest
    deleted: list[str] = field(default_factory=list)  # reindex: gone from the source version
    seconds: float = 0.0
    finished: bool = True

    def to_json(self) -> dict:
        return {
            "model_version": self.model_version,
            "indexed": self.indexed,
            "cached": self.cached,
            "skipped": self.skipped,
            "failed": self.failed,
            "missing": self.missing,
            "deleted": self.deleted,
            "seconds": round(self.seconds, 3),
            "items_per_second": round(self.indexed / self.seconds, 1) if self.seconds else 0.0,
            "finished": self.finished,
        }


def stored_items(client: AsenClient, model_version: str = "") -> dict[str, ListedItem]:
    """What the catalogue of a version holds ({} when it has no collection yet)."""
    try:
        return {item.item_id: item for item in client.list_items(model_version)}
    except ClientError as error:
        if error.code == "NOT_FOUND":
            return {}
        raise


def _unchanged(stored: ListedItem | None, item: CatalogueItem, sha256: str, all_names) -> bool:
    if stored is None or stored.image_sha256 != sha256:
        return False
    metadata = stored.metadata
    wanted = tuple(item.attributes) or tuple(all_names)
    return (metadata.category, metadata.brand, metadata.labels) == (
        item.category,
        item.brand,
        dict(item.labels),
    ) and tuple(stored.attributes) == wanted


def upsert_with_progress(
    client: AsenClient, items: Sequence[CatalogueItem], summary: JobSummary, progress: bool
) -> None:
    started = time.perf_counter()
    bar = tqdm(total=len(items), unit="item", disable=not progress, file=sys.stderr)
    try:
        for result in client.upsert_items(items):
            _count(result, summary)
            bar.update(1)
            bar.set_postfix(failed=len(summary.failed), cached=summary.cached, refresh=False)
    finally:
        bar.close()
        summary.seconds = time.perf_counter() - started


def _count(result: UpsertResult, summary: JobSummary) -> None:
    if result.ok:
        summary.indexed += 1
        summary.cached += int(result.cached)
        summary.model_version = summary.model_version or result.model_version
    else:
        summary.failed.append(
            {"item_id": result.item_id, "code": result.error_code, "message": result.error_message}
        )


def add_images(
    client: AsenClient,
    images: Iterable[SourceImage],
    ids_from: str,
    metadata: dict[str, Metadata],
    attributes: Sequence[str],
    resume: bool = True,
    progress: bool = True,
) -> JobSummary:
    summary = JobSummary()
    names = [a.name for a in client.list_attributes().attributes]
    stored = stored_items(client) if resume else {}
    chosen: dict[str, tuple[CatalogueItem, str]] = {}
    for image in images:
        item_id = image.item_id(ids_from)
        m = metadata_for(metadata, image, item_id)
        item = CatalogueItem(item_id, image.path, m.category, m.brand, m.labels, tuple(attributes))
        chosen[item_id] = (item, image.relative)  # the same id twice: the later file wins
    todo = []
    for item_id, (item, _relative) in chosen.items():
        if resume and _unchanged(stored.get(item_id), item, file_sha256(item.image), names):
            summary.skipped += 1
        else:
            todo.append(item)
    upsert_with_progress(client, todo, summary, progress)
    return summary


def reindex(
    client: AsenClient,
    images: Iterable[SourceImage],
    from_version: str = "",
    progress: bool = True,
) -> JobSummary:
    """Embed every item of `from_version` under the version `client`'s gateway serves, taking
    each image from the given files by its SHA-256; mark the new catalogue ready when complete."""
    stats = client.catalogue_stats()
    target = stats.model_version
    source = from_version or _source_version(stats, target)
    client.start_reindex(source)
    summary = JobSummary(model_version=target)
    files = {file_sha256(image.path): image.path for image in images}
    names = [a.name for a in client.list_attributes().attributes]
    done = stored_items(client, target)
    wanted = stored_items(client, source)
    todo = []
    for item_id, item in wanted.items():
        attributes = tuple(a for a in item.attributes if a in names)
        path = files.get(item.image_sha256)
        if path is None:
            summary.missing.append(item_id)
            continue
        m = item.metadata
        new = CatalogueItem(item_id, path, m.category, m.brand, dict(m.labels), attributes)
        if _unchanged(done.get(item_id), new, item.image_sha256, names):
            summary.skipped += 1
        else:
            todo.append(new)
    upsert_with_progress(client, todo, summary, progress)
    stale = sorted(set(done) - set(wanted))
    for start in range(0, len(stale), 1000):
        summary.deleted.extend(client.delete_items(stale[start : start + 1000]).deleted)
    summary.finished = not summary.failed and not summary.missing
    if summary.finished:
        client.finish_reindex()
    return summary


def _source_version(stats, target: str) -> str:
    candidates = [v for v in stats.versions if v.model_version != target and v.state == "ready"]
    if not candidates:
        raise AsenError(
            f"no other model version's catalogue to reindex from (serving {target!r}); "
            "give --from-version"
        )
    return max(candidates, key=lambda v: v.items).model_version
