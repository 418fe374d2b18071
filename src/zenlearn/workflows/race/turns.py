"""`Turns`: a race's lanes train in one process, one optimizer step each in lane order.

Each lane is an ordinary `train_run` in its own thread, but only the lane holding the turn runs: the others
wait at the end of their last batch. So the lanes never compete for the cores (each step gets every torch
thread, as one run alone would), a lane's set-up (seeding, building its model) is never interleaved with
another's, and the curves advance together on the page.
"""

from __future__ import annotations

import threading
from typing import Any

import torch


class Turns:
    """Lane `i` runs until it calls `next(i)`; then the next lane still in the race runs.

    Each lane keeps its own torch random state (CPU, and CUDA when there is one) across its turns (dropout draws
    from the global generators), so a lane's numbers do not depend on the lanes beside it.

    Args:
        n: Lanes; lane 0 has the first turn.

    Example:
        >>> import threading
        >>> turns, order = Turns(2), []
        >>> def lane(i):
        ...     turns.wait(i)
        ...     for step in range(3):
        ...         order.append((i, step))
        ...         turns.next(i)
        ...     turns.leave(i)
        >>> threads = [threading.Thread(target=lane, args=(i,)) for i in range(2)]
        >>> for t in threads: t.start()
        >>> for t in threads: t.join()
        >>> order
        [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2)]
    """

    def __init__(self, n: int) -> None:
        self._lock = threading.Lock()
        self._go = [threading.Event() for _ in range(n)]
        self._live = [True] * n
        if n:
            self._go[0].set()

    def wait(self, i: int) -> None:
        """Block until it is lane `i`'s turn."""
        self._go[i].wait()

    def next(self, i: int) -> None:
        """Lane `i` has done its step: hand the turn on and wait for it to come back (with `i`'s random state)."""
        state = _rng_state()  # before another lane can draw
        with self._lock:
            j = self._after(i)
            if j == i:
                return
            self._go[i].clear()
            self._go[j].set()
        self._go[i].wait()
        _set_rng_state(state)

    def leave(self, i: int) -> None:
        """Lane `i` has ended (finished, stopped or failed): the turn goes on without it."""
        with self._lock:
            self._live[i] = False
            if self._go[i].is_set():
                self._go[i].clear()
                j = self._after(i)
                if j != i:
                    self._go[j].set()

    def _after(self, i: int) -> int:
        n = len(self._live)
        return next((j % n for j in range(i + 1, i + n + 1) if self._live[j % n]), i)


def _rng_state() -> tuple[Any, Any]:
    return torch.get_rng_state(), torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None


def _set_rng_state(state: tuple[Any, Any]) -> None:
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state_all(state[1])
