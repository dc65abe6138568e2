"""`asen data`: generate the synthetic garment data set, or check a data set root."""

from __future__ import annotations

import argparse
import json
import sys

from asen.cli.settings_flags import add_settings_flags, settings_from_args
from asen.data.metadata import builtin_dataset_names
from asen.data.synth.settings import SynthSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data",
        help="generate the synthetic data set or check a data set directory",
        description="Data sets in the official ASEN layout (filenames_*.txt, label_train.txt, "
        "query_*.txt, candidate_*.txt).",
    )
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    synth = actions.add_parser(
        "synth",
        help="draw a synthetic garment data set (one visible region per attribute)",
        description="Draw a synthetic garment data set in the official layout, with "
        "attributes.json, regions_SPLIT.txt (where each attribute is drawn: `fid attr x0 y0 x1 "
        "y1` in image pixels) and a preview.png contact sheet.",
    )
    synth.add_argument("--out", required=True, help="output directory (new or empty)")
    add_settings_flags(synth, SynthSettings)
    synth.add_argument(
        "--overwrite", action="store_true", help="replace a previously generated data set"
    )
    synth.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    synth.set_defaults(func=run)

    check = actions.add_parser(
        "check",
        help="validate every file of a data set root and print counts",
        description="Read and validate all files of a data set root; report every problem "
        "with file and line.",
    )
    check.add_argument("root", help="data set root (holds filenames_train.txt, ...)")
    check.add_argument(
        "--dataset",
        default=None,
        help=f"built-in attribute table ({', '.join(builtin_dataset_names())}); "
        "default: the root's attributes.json",
    )
    check.add_argument(
        "--no-images", action="store_true", help="do not check that the image files exist"
    )
    check.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    check.set_defaults(func=run)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.data_command == "synth":
        return _synth(args)
    return _check(args)


def _synth(args: argparse.Namespace) -> int:
    from asen.data.synth import generate_synthetic_dataset

    settings = settings_from_args(args, SynthSettings)
    summary = generate_synthetic_dataset(args.out, settings, overwrite=args.overwrite)
    if args.json:
        print(json.dumps(summary.to_json(), indent=2))
    else:
        images = ", ".join(f"{split} {count}" for split, count in summary.images.items())
        print(f"wrote {summary.root} in {summary.seconds:.1f} s: {images} images")
        print(f"look at {summary.root}/preview.png to see the attributes")
    return 0


def _check(args: argparse.Namespace) -> int:
    from asen.data.dataset import open_dataset
    from asen.data.summary import summarize_dataset

    dataset = open_dataset(args.root, args.dataset, check_images=not args.no_images)
    summary = summarize_dataset(dataset)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    images = ", ".join(f"{split} {count}" for split, count in summary["images"].items())
    print(f"{summary['root']}: data set {summary['dataset']}, images: {images}")
    for entry in summary["attributes"]:
        print(
            f"  {entry['name']}: {entry['num_values']} values, "
            f"{entry['train_images']} train labels (min {entry['min_images_per_value']}/value), "
            f"queries valid {entry['queries_valid']} / test {entry['queries_test']}, "
            f"candidates valid {entry['candidates_valid']} / test {entry['candidates_test']}"
        )
    for warning in summary["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    print("ok" if not summary["warnings"] else f"ok with {len(summary['warnings'])} warning(s)")
    return 0
