"""`asen train`: the paper's two-stage ASEN++ recipe (or the triplet baseline) on a data set root.

Stage 1 trains the global branch; stage 2 adds the attention-cropped local branch, starting from
the best stage-1 model. Writes RUNDIR/stage{1,2}/{last,best}.pt, RUNDIR/train.log and the final
RUNDIR/model.pt. Multi-GPU: `torchrun --nproc_per_node N -m asen train ... --device cuda`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from asen.model.config import BACKBONES
from asen.training.losses import LossWeights
from asen.training.optim import STAGE1, STAGE2, OptimSettings
from asen.training.settings import TrainSettings

STAGES = {"1": (1,), "2": (2,), "both": (1, 2)}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train ASEN++ (stage 1 global, stage 2 global + local) or the triplet baseline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", type=Path, required=True, help="data set root (official layout)")
    parser.add_argument("--out", type=Path, required=True, help="run directory (RUNDIR)")
    parser.add_argument(
        "--dataset",
        choices=("auto", "fashionai", "darn", "deepfashion"),
        default="auto",
        help="attribute table: built-in spec, or auto = the root's attributes.json",
    )
    parser.add_argument("--stage", choices=tuple(STAGES), default="both")
    parser.add_argument("--baseline", action="store_true", help="train the triplet baseline")
    parser.add_argument("--epochs-stage1", type=int, default=50)
    parser.add_argument("--epochs-stage2", type=int, default=20)
    parser.add_argument("--epochs-baseline", type=int, default=50)
    parser.add_argument("--triplets-per-epoch", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=16, help="triplets per step")
    parser.add_argument("--global-backbone", choices=BACKBONES, default="resnet50")
    parser.add_argument("--local-backbone", choices=BACKBONES, default="resnet34")
    parser.add_argument("--backbone-weights-global", type=Path, help="torchvision ImageNet .pth")
    parser.add_argument("--backbone-weights-local", type=Path, help="torchvision ImageNet .pth")
    parser.add_argument("--embed-size", type=int, default=1024)
    parser.add_argument("--global-size", type=int, default=224)
    parser.add_argument("--local-size", type=int, default=112)
    parser.add_argument("--threshold", type=float, default=0.1, help="stage-2 RoI threshold")
    parser.add_argument("--no-spatial-attention", action="store_true")
    parser.add_argument("--no-channel-attention", action="store_true")
    parser.add_argument("--lr-stage1", type=float, default=STAGE1.lr)
    parser.add_argument("--lr-stage2", type=float, default=STAGE2.lr, help="local branch")
    parser.add_argument(
        "--lr-stage2-global", type=float, default=STAGE2.slow_lr, help="global branch in stage 2"
    )
    parser.add_argument(
        "--stage1-checkpoint",
        type=Path,
        help="stage 2's starting point (default RUNDIR/stage1/best.pt)",
    )
    parser.add_argument("--resume", action="store_true", help="continue from stage*/last.pt")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--amp", action="store_true", help="mixed precision (fp16 on CUDA)")
    parser.add_argument("--amp-dtype", choices=("float16", "bfloat16"), default="float16")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--crop-threads", type=int, default=2, help="threads for the RoI crops")
    parser.add_argument("--cache-mb", type=int, default=2048, help="decoded-image cache budget")
    parser.add_argument("--max-steps", type=int, help="stop each epoch after N steps (smoke run)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    parser.set_defaults(func=run)


def settings_from_args(args: argparse.Namespace) -> TrainSettings:
    return TrainSettings(
        data=args.data,
        out=args.out,
        dataset=None if args.dataset == "auto" else args.dataset,
        stages=STAGES[args.stage],
        epochs_stage1=args.epochs_baseline if args.baseline else args.epochs_stage1,
        epochs_stage2=args.epochs_stage2,
        triplets_per_epoch=args.triplets_per_epoch,
        batch_size=args.batch_size,
        global_backbone=args.global_backbone,
        local_backbone=args.local_backbone,
        backbone_weights_global=args.backbone_weights_global,
        backbone_weights_local=args.backbone_weights_local,
        embed_size=args.embed_size,
        global_size=args.global_size,
        local_size=args.local_size,
        spatial_attention=not args.no_spatial_attention,
        channel_attention=not args.no_channel_attention,
        threshold=args.threshold,
        stage1_optim=OptimSettings(args.lr_stage1, STAGE1.slow_lr, STAGE1.step_size, STAGE1.gamma),
        stage2_optim=OptimSettings(
            args.lr_stage2, args.lr_stage2_global, STAGE2.step_size, STAGE2.gamma
        ),
        loss_weights=LossWeights(),
        stage1_checkpoint=args.stage1_checkpoint,
        resume=args.resume,
        device=args.device,
        amp=args.amp,
        amp_dtype=args.amp_dtype,
        seed=args.seed,
        eval_batch_size=args.eval_batch_size,
        workers=args.workers,
        crop_threads=args.crop_threads,
        cache_mb=args.cache_mb,
        progress=not args.no_progress,
        max_steps=args.max_steps,
    )


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.baseline:
        from asen.baseline.train import train_baseline

        summary = train_baseline(settings)
    else:
        from asen.training.pipeline import train

        summary = train(settings)
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
