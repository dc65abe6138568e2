"""Multi-process data-parallel training, launched by `torchrun` (WORLD_SIZE / RANK / LOCAL_RANK).

Every rank samples its own share of the epoch's triplets with a rank-dependent seed, runs the
same number of steps, and DistributedDataParallel averages gradients. Only rank 0 validates and
writes checkpoints; the others wait at a barrier and then read the best MAP it broadcasts. CUDA
uses NCCL, one GPU per process (LOCAL_RANK); CPU uses gloo, which is also how the tests run it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist
from torch import nn

from asen_contract.errors import ConfigError


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def rank_seed(self, seed: int) -> int:
        """Distinct triplet streams per rank; rank 0 of a single process keeps `seed` itself."""
        return seed if not self.enabled else seed * 4096 + self.rank

    def share(self, total: int) -> int:
        """Triplets per rank per epoch: together at least `total`."""
        return math.ceil(total / self.world_size)

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def broadcast_float(self, value: float) -> float:
        """Rank 0's value on every rank."""
        if not self.enabled:
            return value
        tensor = torch.tensor([value], dtype=torch.float64, device=self._comm_device())
        dist.broadcast(tensor, src=0)
        return float(tensor.item())

    def mean_over_ranks(self, value: float) -> float:
        if not self.enabled:
            return value
        tensor = torch.tensor([value], dtype=torch.float64, device=self._comm_device())
        dist.all_reduce(tensor)
        return float(tensor.item()) / self.world_size

    def sum_over_ranks(self, value: float) -> float:
        if not self.enabled:
            return value
        tensor = torch.tensor([value], dtype=torch.float64, device=self._comm_device())
        dist.all_reduce(tensor)
        return float(tensor.item())

    def wrap(self, module: nn.Module) -> nn.Module:
        if not self.enabled:
            return module
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(module, device_ids=device_ids)

    def _comm_device(self) -> torch.device:
        return self.device if self.device.type == "cuda" else torch.device("cpu")


def context_from_env(device: str) -> DistContext:
    """Read torchrun's variables and join the process group; a plain run is one rank."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistContext(device=_single_device(device))
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "cuda":
        torch.cuda.set_device(local_rank)
        torch_device = torch.device("cuda", local_rank)
        backend = "nccl"
    else:
        torch_device = torch.device("cpu")
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return DistContext(rank, world_size, local_rank, torch_device)


def _single_device(device: str) -> torch.device:
    return torch.device("cuda", 0) if device == "cuda" else torch.device("cpu")


def shutdown(context: DistContext) -> None:
    if context.enabled and dist.is_initialized():
        dist.destroy_process_group()


Result = TypeVar("Result")


def run_in_context(
    device: str, context: DistContext | None, body: Callable[[DistContext], Result]
) -> Result:
    """Run `body` in the given context, or in one made from torchrun's variables and torn down
    afterwards (every training entry point needs the same ownership rule)."""
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda: no CUDA device is available")
    owns_context = context is None
    context = context or context_from_env(device)
    try:
        return body(context)
    finally:
        if owns_context:
            shutdown(context)
