"""`asen evaluate`: MAP per attribute, overall MAP and triplet accuracy of a checkpoint."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from asen.checkpoint import load_checkpoint
from asen.evaluation import evaluate_model
from asen.evaluation.triplet_accuracy import DEFAULT_SEED, DEFAULT_TRIPLETS
from asen_contract.errors import AsenError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="MAP of a checkpoint on a data set's query/candidate split (official protocol)",
        description="Rank each query's candidates of the same attribute by the fused embedding; "
        "print per-attribute MAP (and its chance level), the query-weighted overall MAP, "
        "triplet accuracy, the mean similarity of same-value vs different-value pairs and, when "
        "the root has regions_SPLIT.txt (the synthetic set does), attention localisation: the "
        "pointing game and the share of the RoI box on the attribute's region.",
    )
    parser.add_argument("--checkpoint", required=True, type=Path, metavar="MODEL")
    parser.add_argument("--data", required=True, type=Path, metavar="DIR", help="data set root")
    parser.add_argument("--split", choices=("test", "valid"), default="test")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default: cpu)")
    parser.add_argument("--triplets", type=int, default=DEFAULT_TRIPLETS, metavar="N")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the triplets")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    device = check_device(args.device)
    if args.batch_size < 1:
        raise AsenError("--batch-size must be at least 1")
    checkpoint = load_checkpoint(args.checkpoint, device)
    report = evaluate_model(
        checkpoint,
        args.data,
        args.split,
        args.batch_size,
        device,
        progress=not args.no_progress,
        num_triplets=args.triplets,
        seed=args.seed,
    )
    print(json.dumps(report.to_dict()) if args.json else report.format_table())
    return 0


def check_device(name: str) -> str:
    """A usable torch device name, or a clear error instead of a CUDA traceback."""
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise AsenError(f"unknown device {name!r}: use cpu or cuda[:N]") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise AsenError(f"device {name!r} requested but CUDA is not available here")
    if device.type not in ("cpu", "cuda"):
        raise AsenError(f"unsupported device {name!r}: use cpu or cuda[:N]")
    return name
