"""The reference checkpoints shipped with gr-bench (package data), named ``reference:NAME``.

Each folder here is a checkpoint (``config.json``, ``model.safetensors``) with a ``MODEL_CARD.md``,
made by ``gr-bench train --recipe NAME`` and chosen as its card says. ``--agent gr1``, ``gr2`` and
``gr3`` without ``--checkpoint`` run ``reference:gr1-tiny``, ``reference:gr2-tiny`` and ``reference:gr3-tiny``.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parent
PREFIX = "reference:"


def is_reference(checkpoint: str | Path) -> bool:
    return str(checkpoint).startswith(PREFIX)


def reference_folder(checkpoint: str) -> Path:
    """The folder of ``reference:NAME``; a clear error when this installation does not ship it."""
    name = str(checkpoint)[len(PREFIX) :]
    folder = ROOT / name
    if not name or "/" in name or not (folder / "model.safetensors").is_file():
        shipped = sorted(p.name for p in ROOT.iterdir() if (p / "model.safetensors").is_file())
        raise ValueError(
            f"no reference checkpoint {name!r} in this installation (shipped: {shipped or 'none'}); "
            f"train it with `gr-bench train --recipe {name or 'NAME'}` and pass --checkpoint, or install a "
            "release that ships it"
        )
    return folder
