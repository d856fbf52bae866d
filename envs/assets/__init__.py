"""MJCF models and data files that ship with the package."""

from __future__ import annotations

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent


def asset_path(name: str) -> Path:
    """Path of a shipped asset, e.g. ``asset_path("play_table.xml")``."""
    path = ASSETS_DIR / name
    if not path.exists():
        available = sorted(p.name for p in ASSETS_DIR.rglob("*") if p.is_file() and p.suffix != ".py")
        raise FileNotFoundError(f"no asset {name!r} in {ASSETS_DIR}; available: {available}")
    return path
