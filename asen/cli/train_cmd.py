"""`asen train`: the paper's two-stage ASEN++ recipe (or the triplet baseline) on a data set root.

Stage 1 trains the global branch; stage 2 adds the attention-cropped local branch, starting from
stage 1's last epoch. Writes RUNDIR/stage{1,2}/{last,best}.pt, RUNDIR/train.log and the final
RUNDIR/model.pt. Defaults are the official recipe (float32, batch 16, 100,000 triplets per epoch);
the ResNet backbones start from torchvision's V1 ImageNet files, which you download yourself
(nothing is downloaded here):
  https://download.pytorch.org/models/resnet50-19c8e357.pth  (--backbone-weights-global)
  https://download.pytorch.org/models/resnet34-333f7ec4.pth  (--backbone-weights-local)
or pass --from-scratch. Multi-GPU: `torchrun --nproc_per_node N -m asen train ... --device cuda`.
"""

from __future__ import annotations

import argparse
import json
import sys

from asen.cli.settings_flags import add_settings_flags, settings_from_args
from asen.training.settings import TrainSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train ASEN++ (stage 1 global, stage 2 global + local) or the triplet baseline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_settings_flags(parser, TrainSettings)
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from asen.training.pipeline import train

    summary = train(settings_from_args(args, TrainSettings))
    if summary.get("rank", 0) != 0:
        return 0
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(
            f"best valid MAP {100 * summary['best_valid_map']:.2f} % -> {summary['model']}",
            file=sys.stderr,
        )
    return 0
