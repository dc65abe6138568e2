"""`asen import-official`: convert an official ASEN++ checkpoint into this project's format."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from asen.cli.settings_flags import add_settings_flags
from asen.model.config import Architecture
from asen.official import import_official

# What the weights do not say; every other architecture setting is read from them.
NOT_IN_THE_WEIGHTS = ("global_size", "local_size", "threshold", "beta")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import-official",
        help="convert an official ASEN++ checkpoint (checkpoint.pth.tar / model_best.pth.tar)",
        description="Infer the architecture from the weights, take the attribute table from the "
        "data set's metadata, load every parameter strictly and write a project checkpoint. "
        "The file is read with weights_only=True: no code inside it runs.",
    )
    parser.add_argument("checkpoint", type=Path, metavar="CHECKPOINT")
    parser.add_argument("--dataset", required=True, choices=("fashionai", "darn", "deepfashion"))
    parser.add_argument("--out", required=True, type=Path, metavar="MODEL")
    add_settings_flags(parser, Architecture, only=NOT_IN_THE_WEIGHTS)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = {name: getattr(args, name) for name in NOT_IN_THE_WEIGHTS}
    summary = import_official(args.checkpoint, args.dataset, args.out, **settings)
    if args.json:
        print(json.dumps(summary.to_dict()))
        return 0
    config = summary.config
    branches = f"global {config.global_backbone}"
    if config.has_local:
        branches += f" + local {config.local_backbone}"
    print(f"imported {args.checkpoint} -> {summary.out}")
    print(f"  data set {summary.dataset}, {config.num_attributes} attributes; {branches}")
    print(f"  model version {summary.model_version}")
    return 0
