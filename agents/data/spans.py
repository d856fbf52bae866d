"""Samples laid end to end: several episodes, clips, videos or datasets read as one index."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class Spans:
    """Consecutive runs of samples of the given lengths: ``len`` is their total and ``locate`` finds
    which run a flat index falls in and where within it."""

    def __init__(self, lengths: Iterable[int]):
        self.starts = np.concatenate([[0], np.cumsum([int(n) for n in lengths], dtype=np.int64)])

    def __len__(self) -> int:
        return int(self.starts[-1])

    def locate(self, index: int) -> tuple[int, int]:
        """(which run, index within it) of sample ``index``; IndexError outside [0, len)."""
        if not 0 <= index < len(self):
            raise IndexError(f"sample {index} out of range for {len(self)} samples")
        run = int(np.searchsorted(self.starts, index, side="right") - 1)
        return run, int(index - self.starts[run])
