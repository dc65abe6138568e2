"""`asen client`: call a running ASEN gateway (attributes, embed, compare, rank, health)."""

from __future__ import annotations

import argparse
import json

from asen.cli.connection import connection_flags, image_argument, open_client


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "client", help="call a running gateway: attributes, embed, compare, rank"
    )
    common = connection_flags(30.0, "deadline in seconds")
    actions = parser.add_subparsers(dest="client_command", metavar="ACTION", required=True)

    actions.add_parser("attributes", parents=[common], help="the model's attributes and version")

    embed = actions.add_parser("embed", parents=[common], help="embed one image")
    embed.add_argument("image", help="image file, or sha256:HEX of an already embedded image")
    embed.add_argument("--attribute", action="append", default=[], help="repeatable; none = all")
    embed.add_argument("--attention", action="store_true", help="also return attention maps")

    compare = actions.add_parser("compare", parents=[common], help="similarity of two images")
    compare.add_argument("a", help="image file or sha256:HEX")
    compare.add_argument("b", help="image file or sha256:HEX")
    compare.add_argument("--attribute", action="append", default=[], help="repeatable; none = all")

    rank = actions.add_parser("rank", parents=[common], help="rank candidates against a query")
    rank.add_argument("query", help="image file or sha256:HEX")
    rank.add_argument("candidates", nargs="+", help="image files or sha256:HEX")
    rank.add_argument("--attribute", required=True)
    rank.add_argument("--top-k", type=int, default=0, help="best K only (0 = all)")

    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:

    with open_client(args) as client:
        if args.client_command == "attributes":
            result = client.list_attributes()
            _print(args, result.to_json(), _attributes_text(result))
        elif args.client_command == "embed":
            result = client.embed(image_argument(args.image), args.attribute, args.attention)
            _print(args, result.to_json(), _embed_text(result))
        elif args.client_command == "compare":
            result = client.compare(image_argument(args.a), image_argument(args.b), args.attribute)
            _print(args, result.to_json(), _compare_text(result))
        else:
            candidates = [image_argument(c) for c in args.candidates]
            result = client.rank(image_argument(args.query), args.attribute, candidates, args.top_k)
            names = args.candidates
            _print(args, result.to_json(), _rank_text(result, names))
    return 0


def _print(args: argparse.Namespace, data: dict, text: str) -> None:
    print(json.dumps(data, indent=2) if args.json else text)


def _attributes_text(result) -> str:
    lines = [f"model version {result.model_version} (beta {result.beta:.2f})"]
    for a in result.attributes:
        values = ", ".join(a.value_names) if a.value_names else f"{a.num_values} values"
        lines.append(f"  {a.name}: {values}")
    return "\n".join(lines)


def _embed_text(result) -> str:
    lines = [f"image {result.image_sha256} (model {result.model_version})"]
    for name, e in result.embeddings.items():
        box = ", ".join(f"{v:.1f}" for v in e.roi)
        source = "cache" if e.cached else "computed"
        lines.append(f"  {name}: dim {e.vector.size}, roi ({box}), {source}")
    return "\n".join(lines)


def _compare_text(result) -> str:
    lines = [f"model {result.model_version}"]
    for name, s in result.scores.items():
        lines.append(
            f"  {name}: {s.similarity:.4f} "
            f"(global {s.global_similarity:.4f}, local {s.local_similarity:.4f})"
        )
    return "\n".join(lines)


def _rank_text(result, names: list[str]) -> str:
    lines = [f"{result.attribute} (model {result.model_version})"]
    for place, r in enumerate(result.results, start=1):
        lines.append(f"  {place:3d}. {r.similarity:.4f}  {names[r.index]}")
    return "\n".join(lines)
