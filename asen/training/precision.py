"""Mixed precision: autocast for the forward, GradScaler for fp16 backward.

fp16 needs loss scaling (small gradients underflow); bf16 has fp32's range and does not. On CPU
only bf16 autocast exists, so `--amp` there means bf16 without a scaler.
"""

from __future__ import annotations

import contextlib

import torch


class Precision:
    def __init__(self, device: torch.device, enabled: bool, dtype: str = "float16") -> None:
        self.device_type = device.type
        self.enabled = enabled
        if device.type != "cuda":
            dtype = "bfloat16"
        self.dtype = getattr(torch, dtype)
        use_scaler = enabled and self.dtype == torch.float16
        self.scaler = torch.amp.GradScaler(self.device_type, enabled=use_scaler)

    def describe(self) -> str:
        """ "float32" (the official recipe) or the autocast type."""
        if not self.enabled:
            return "float32"
        return f"{str(self.dtype).removeprefix('torch.')} autocast"

    def autocast(self) -> contextlib.AbstractContextManager:
        if not self.enabled:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """zero_grad, backward (scaled if fp16), optimizer step, scaler update."""
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()
