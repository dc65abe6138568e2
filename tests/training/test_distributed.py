"""The DistributedDataParallel path on CPU: two gloo processes train a tiny model for 2 steps."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import torch.multiprocessing as mp

from ..factories import tiny_settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker(rank: int, world_size: int, port: int, data: str, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        WORLD_SIZE=str(world_size),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
    )
    import torch

    torch.set_num_threads(1)
    from asen.training.pipeline import train

    summary = train(tiny_settings(Path(data), Path(out), max_steps=2))
    Path(out, f"summary-{rank}.json").write_text(json.dumps(summary))


def test_two_gloo_ranks_train_both_stages(tiny_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    mp.start_processes(
        _worker,
        args=(2, _free_port(), str(tiny_data), str(out)),
        nprocs=2,
        join=True,
        start_method="spawn",
    )
    summaries = [json.loads((out / f"summary-{rank}.json").read_text()) for rank in (0, 1)]
    assert [s["world_size"] for s in summaries] == [2, 2]
    # rank 0 validates and broadcasts: both ranks agree on the best MAP
    assert summaries[0]["best_valid_map"] == summaries[1]["best_valid_map"]
    stage2 = summaries[0]["stages"]["stage2"]["epochs"][0]
    assert stage2["triplets"] == 8  # 8 per epoch: each rank samples its share of 4
    assert (out / "stage2" / "best.pt").is_file() and (out / "model.pt").is_file()
    assert (out / "train.log").read_text().count("}, valid MAP") == 2  # rank 0 logs alone
