"""Atomic file writes: a reader, or a run resumed after a kill or a power cut, sees the whole new
file or the old one (none at all), never a file cut short.

The one helper for every such write in gr_bench/ and agents/. It lives in agents/ because that is
the lowest layer both may import: gr_bench imports agents, agents never imports gr_bench
(tests/test_layering.py); envs/ writes no files. Folders written whole (a checkpoint, a dataset)
are renamed into place by their writers; this is for single files.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

PARTIAL = ".partial"  # in the name of a file being written: `.NAME.partial.SUFFIX`


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; when the block ends it is fsynced and renamed
    to ``path`` (or removed, if the block raised).

    The temporary file is hidden (``.NAME.partial.SUFFIX``), in the same folder (so the rename is
    atomic) and keeps the suffix (for writers that choose a format by it).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}{PARTIAL}{path.suffix}")
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; returns ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path
