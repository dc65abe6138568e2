"""`asen catalogue`: index image files in a served catalogue and search it by attribute.

asen catalogue add DIR_OR_FILES... [--ids-from filename|sha256] [--metadata CSV]
asen catalogue search IMAGE --attribute NAME --top-k K [--filter EXPR] [--json] [--sheet OUT.png]
asen catalogue delete ID... | stats | reindex DIR_OR_FILES... --address NEW_GATEWAY
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from asen.cli.connection import connection_flags, image_argument, open_client
from asen_contract.errors import AsenError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "catalogue", help="index images in the served catalogue and search it by attribute"
    )
    common = connection_flags(60.0, "deadline of unary calls")
    actions = parser.add_subparsers(dest="catalogue_command", metavar="ACTION", required=True)

    add = actions.add_parser(
        "add",
        parents=[common],
        help="index image files (resumable: run again to finish)",
        description="Index image files (folders are searched recursively). Items already stored "
        "with the same image, metadata and attributes are skipped, so an interrupted run is "
        "resumed by running it again.",
    )
    add.add_argument("paths", nargs="+", metavar="DIR_OR_FILE")
    add.add_argument(
        "--ids-from",
        choices=("filename", "sha256"),
        default="filename",
        help="item id = path under its folder (default) or the image's SHA-256",
    )
    add.add_argument(
        "--metadata",
        type=Path,
        metavar="CSV",
        help="item_id or file column; category, brand; other columns are labels",
    )
    add.add_argument(
        "--attribute",
        action="append",
        default=[],
        help="index under this attribute only (repeatable; default all)",
    )
    add.add_argument("--no-resume", action="store_true", help="re-send items already stored")
    add.add_argument("--no-progress", action="store_true", help="no progress bar")

    search = actions.add_parser("search", parents=[common], help="most similar items by attribute")
    search.add_argument("image", nargs="?", help="query image file, or sha256:HEX")
    search.add_argument("--item", help="query by an indexed item id instead of an image")
    search.add_argument(
        "--attribute",
        action="append",
        required=True,
        help="attribute name (repeatable: one result list each)",
    )
    search.add_argument("--top-k", type=int, default=10)
    search.add_argument(
        "--filter",
        default="",
        metavar="EXPR",
        help='e.g. category == "coat" and labels.season in ["ss24"]',
    )
    search.add_argument("--exclude-self", action="store_true", help="with --item: leave it out")
    search.add_argument(
        "--sheet",
        type=Path,
        metavar="OUT.png",
        help="save a contact sheet (query, results, attention boxes)",
    )
    search.add_argument(
        "--images",
        nargs="*",
        default=[],
        metavar="DIR_OR_FILE",
        help="where the sheet finds result images (by item id or SHA-256)",
    )

    delete = actions.add_parser("delete", parents=[common], help="remove items by id")
    delete.add_argument("item_ids", nargs="*", metavar="ID")
    delete.add_argument("--from-file", type=Path, help="one item id per line")

    actions.add_parser("stats", parents=[common], help="items per model version, index, state")

    reindex = actions.add_parser(
        "reindex",
        parents=[common],
        help="rebuild the catalogue under the model version a gateway serves",
        description="Point --address at a gateway serving the NEW model version. Every item of "
        "the old version's catalogue is embedded again (its image found among the given files "
        "by SHA-256) while gateways of the old version keep serving the old catalogue; the new "
        "one is marked ready when complete. Resumable: run it again after an interruption.",
    )
    reindex.add_argument("paths", nargs="+", metavar="DIR_OR_FILE")
    reindex.add_argument("--from-version", default="", help="default: the largest other version")
    reindex.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        if args.catalogue_command in ("add", "reindex"):
            return _index(args, client)
        if args.catalogue_command == "search":
            return _search(args, client)
        if args.catalogue_command == "delete":
            ids = list(args.item_ids)
            if args.from_file:
                ids += [line.strip() for line in _read(args.from_file).splitlines() if line.strip()]
            if not ids:
                raise AsenError("give item ids or --from-file")
            result = client.delete_items(ids)
            text = f"deleted {len(result.deleted)}; not in the catalogue: {len(result.not_found)}"
            _print(args, result.to_json(), text)
            return 0
        stats = client.catalogue_stats()
        _print(args, stats.to_json(), _stats_text(stats))
        return 0


def _index(args: argparse.Namespace, client) -> int:
    from asen.catalogue.indexing import add_images, reindex
    from asen.catalogue.sources import image_files, read_metadata_csv

    images = image_files(args.paths)
    progress = not args.no_progress and sys.stderr.isatty()
    if args.catalogue_command == "add":
        metadata = read_metadata_csv(args.metadata) if args.metadata else {}
        summary = add_images(
            client, images, args.ids_from, metadata, args.attribute, not args.no_resume, progress
        )
    else:
        summary = reindex(client, images, args.from_version, progress)
    data = summary.to_json()
    text = (
        f"model {summary.model_version}: indexed {summary.indexed} "
        f"({summary.cached} from cached embeddings, {data['items_per_second']} items/s), "
        f"skipped {summary.skipped} already stored, failed {len(summary.failed)}"
    )
    if args.catalogue_command == "reindex":
        text += f", no image file for {len(summary.missing)}, removed {len(summary.deleted)}; " + (
            "catalogue ready" if summary.finished else "NOT switched: run again to finish"
        )
    for failure in summary.failed[:20]:
        print(f"  {failure['item_id']}: {failure['code']}: {failure['message']}", file=sys.stderr)
    _print(args, data, text)
    return 0 if summary.finished and not summary.failed else 1


def _search(args: argparse.Namespace, client) -> int:
    from asen.client import ItemRef

    if bool(args.image) == bool(args.item):
        raise AsenError("give a query IMAGE or --item ID (one of them)")
    query = ItemRef(args.item) if args.item else image_argument(args.image)
    result = client.search_items(query, args.attribute, args.top_k, args.filter, args.exclude_self)
    if args.json:
        data = [result.to_json(a) for a in args.attribute]
        print(json.dumps(data[0] if len(data) == 1 else data, indent=2))
    else:
        print(_search_text(result))
    if args.sheet:
        from asen.catalogue.sheet_job import search_sheet

        for path in search_sheet(
            result, args.image if not args.item else None, args.images, args.sheet
        ):
            print(f"contact sheet: {path}", file=sys.stderr)
    return 0


def _search_text(result) -> str:
    lines = [f"model {result.model_version}"]
    for name, group in result.results.items():
        lines.append(f"{name}:")
        for place, hit in enumerate(group.results, start=1):
            meta = ", ".join(
                f"{k}={v}"
                for k, v in (
                    ("category", hit.metadata.category),
                    ("brand", hit.metadata.brand),
                    *sorted(hit.metadata.labels.items()),
                )
                if v
            )
            lines.append(
                f"  {place:3d}. {hit.similarity:+.4f} (global {hit.global_similarity:+.3f}, "
                f"local {hit.local_similarity:+.3f})  {hit.item_id}  {meta}"
            )
    return "\n".join(lines)


def _stats_text(stats) -> str:
    lines = [f"engine {stats.engine}; serving model version {stats.model_version or '(none)'}"]
    for v in stats.versions:
        mark = " (serving)" if v.serving else ""
        lines.append(
            f"  {v.model_version}{mark}: {v.items} items, {v.state}, index {v.index_type}, "
            f"{v.vector_type}, per attribute by {v.layout}"
        )
        for name, count in v.items_per_attribute.items():
            lines.append(f"      {name}: {count}")
    return "\n".join(lines)


def _print(args: argparse.Namespace, data: dict, text: str) -> None:
    print(json.dumps(data, indent=2) if args.json else text)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise AsenError(f"cannot read {path}: {error.strerror}") from None
