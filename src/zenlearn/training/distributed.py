"""Data-parallel training with torch.distributed: `torchrun --nproc-per-node N -m zenlearn train …`.

torchrun starts N processes and sets RANK / LOCAL_RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT;
`init_distributed` joins them into one process group (gloo on CPU, nccl on CUDA). Every rank holds
the whole (in-memory) dataset and takes its strided shard of the same per-epoch permutation
(`BatchLoader(rank=, world_size=)`); `--batch-size` is the global batch, split evenly over the ranks,
so N processes follow the same loss curve as one process. Gradients are averaged by
`DistributedDataParallel`; the epoch metrics are all-reduced (`all_reduce_sum`); only rank 0 writes
the run folder. Without torchrun (WORLD_SIZE unset or 1) everything here is a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor, nn

from zenlearn.errors import UsageError, ZenlearnError
from zenlearn.training.device import prefers_channels_last


@dataclass
class DistEnv:
    """This process's place in the data-parallel group (rank 0 of 1 when not launched by torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None
    device: torch.device | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def wrap(self, model: nn.Module) -> nn.Module:
        """`model` on this rank's device, inside `DistributedDataParallel` when there are several ranks."""
        if not self.active:
            return model
        from torch.nn.parallel import DistributedDataParallel

        device = self.device or torch.device("cpu")
        # the layout the Trainer will train in, before DDP lays out its gradient buckets
        fmt = torch.channels_last if prefers_channels_last(model, device) else torch.preserve_format
        model = model.to(device, memory_format=fmt)
        ids = [self.device.index] if self.device is not None and self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def share(self, value: Any) -> Any:
        """Rank 0's `value` on every rank (e.g. the run folder, whose default name holds a timestamp)."""
        if not self.active:
            return value
        box = [value if self.is_main else None]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def on_main(self, fn: Callable[[], Any]) -> Any:
        """`fn()` run on rank 0 only; its result on every rank (a user error is raised on every rank)."""
        if not self.active:
            return fn()
        result: tuple[str, Any] | None = None
        if self.is_main:
            try:
                result = ("ok", fn())
            except ZenlearnError as e:
                result = ("error", e)
        kind, value = self.share(result)
        if kind == "error":
            raise value
        return value

    def close(self) -> None:
        if self.active and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def init_distributed(device: torch.device, batch_size: int) -> DistEnv:
    """Join the torchrun process group if this process was launched by torchrun; else a one-rank `DistEnv`.

    Args:
        device: The resolved training device; its type picks the backend (cuda → nccl, cpu → gloo).
        batch_size: The global batch; it must split evenly over the ranks.

    Example:
        >>> init_distributed(torch.device("cpu"), 64).world_size  # without torchrun
        1
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistEnv()
    if batch_size % world:
        raise UsageError(f"--batch-size {batch_size} (the global batch) must be divisible by the {world} "
                         f"torchrun processes; use e.g. --batch-size {batch_size - batch_size % world or world}")
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        if local >= torch.cuda.device_count():
            raise UsageError(f"LOCAL_RANK {local} but only {torch.cuda.device_count()} GPUs here; use "
                             f"--nproc-per-node <= {torch.cuda.device_count()}")
        torch.cuda.set_device(local)
        device, backend = torch.device("cuda", local), "nccl"
    else:
        backend = "gloo"
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend, rank=rank, world_size=world)
    return DistEnv(rank, world, local, backend, device)


def all_reduce_sum(t: Tensor) -> Tensor:
    """Element-wise sum of `t` over all ranks (a copy); `t` itself when not distributed."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return t
    if torch.distributed.get_world_size() == 1:
        return t
    t = t.clone()
    torch.distributed.all_reduce(t)
    return t
