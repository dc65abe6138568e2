"""`asen embed`: the fused embedding, RoI box and attention map of one image, per attribute."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from asen.checkpoint import LoadedCheckpoint, load_checkpoint
from asen.cli.evaluate_cmd import check_device
from asen.inference import Embedder, Embeddings
from asen_contract.errors import AsenError
from asen_contract.images import read_image_file


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "embed",
        help="embed one image for one or more attributes (fused vector, RoI, attention map)",
        description="Run the checkpoint in-process on one image. The global backbone runs once "
        "however many attributes are asked for.",
    )
    parser.add_argument("--checkpoint", required=True, type=Path, metavar="MODEL")
    parser.add_argument("--image", required=True, type=Path, metavar="IMG")
    parser.add_argument(
        "--attribute",
        required=True,
        action="append",
        metavar="NAME",
        help="attribute name; repeat for several",
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default: cpu)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--heatmap",
        type=Path,
        metavar="OUT.png",
        help="save the image with the attention map and RoI box drawn over it",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    device = check_device(args.device)
    image = read_image_file(args.image)
    checkpoint = load_checkpoint(args.checkpoint, device)
    ids = [checkpoint.attribute_index(name) for name in args.attribute]
    embeddings = Embedder(checkpoint, device).embed_image(image, ids)
    results = [
        result_object(checkpoint, embeddings, row, args.attribute[row])
        for row in range(len(args.attribute))
    ]
    if args.heatmap is not None:
        _save_heatmap(args.heatmap, image, embeddings, args.attribute)
    if args.json:
        document = (
            results[0]
            if len(results) == 1
            else {"model_version": checkpoint.model_version, "results": results}
        )
        print(json.dumps(document))
    else:
        print(_describe(checkpoint, image.size, results, args.heatmap))
    return 0


def result_object(
    checkpoint: LoadedCheckpoint, embeddings: Embeddings, row: int, attribute: str
) -> dict[str, Any]:
    """The JSON shape of one attribute's result (the gateway's tests compare against it).

    embedding: fused vector; its first `global_dim` entries are the global part, so a dot product
    of two embeddings is beta * cos_global + (1 - beta) * cos_local.
    """
    config = checkpoint.config
    return {
        "attribute": attribute,
        "attribute_id": checkpoint.attribute_index(attribute),
        "model_version": checkpoint.model_version,
        "embedding": [float(v) for v in embeddings.fused[row]],
        "roi": [int(v) for v in embeddings.roi[row]],
        "attention": np.asarray(embeddings.attention[row], dtype=float).tolist(),
        "global_dim": config.embed_size,
        "beta": config.beta if config.has_local else 1.0,
    }


def _save_heatmap(path: Path, image, embeddings: Embeddings, attributes: list[str]) -> None:
    from asen.visualize import save_attention_figure, save_attention_grid

    try:
        if len(attributes) == 1:
            save_attention_figure(
                image, embeddings.attention[0], embeddings.roi[0], attributes[0], path
            )
        else:
            save_attention_grid(
                image, list(embeddings.attention), list(embeddings.roi), attributes, path
            )
    except (OSError, ValueError) as error:
        raise AsenError(f"cannot write heatmap {path}: {error}") from error


def _describe(
    checkpoint: LoadedCheckpoint, size: tuple[int, int], results: list[dict], heatmap: Path | None
) -> str:
    lines = [f"model {checkpoint.model_version}, image {size[0]}x{size[1]}"]
    for result in results:
        attention = np.asarray(result["attention"])
        peak_y, peak_x = np.unravel_index(int(attention.argmax()), attention.shape)
        head = ", ".join(f"{v:+.4f}" for v in result["embedding"][:4])
        lines.append(
            f"{result['attribute']}: roi {result['roi']}, attention peak at cell "
            f"({peak_x}, {peak_y}) of {attention.shape[1]}x{attention.shape[0]}, "
            f"embedding[{len(result['embedding'])}] = [{head}, ...]"
        )
    if heatmap is not None:
        lines.append(f"heatmap saved to {heatmap}")
    return "\n".join(lines)
