"""Writing rollouts as videos people can watch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from agents.atomic import atomic_path


def side_by_side(images: list[np.ndarray]) -> np.ndarray:
    """Tile camera images left to right, scaling each (nearest neighbour) to the tallest height."""
    height = max(img.shape[0] for img in images)
    tiles = []
    for img in images:
        factor = height / img.shape[0]
        if factor != 1:
            rows = (np.arange(height) / factor).astype(int)
            cols = (np.arange(int(round(img.shape[1] * factor))) / factor).astype(int)
            img = img[rows][:, cols]
        tiles.append(img)
    return np.concatenate(tiles, axis=1)


def write_video(path: str | Path, frames: list[np.ndarray], fps: int) -> Path:
    """Write frames (HxWx3 uint8) to an mp4 (H.264) or gif, by the path's suffix."""
    import imageio.v2 as imageio

    path = Path(path)
    if not frames:
        raise ValueError("no frames to write")
    if path.suffix.lower() not in (".mp4", ".gif"):
        raise ValueError(f"video path must end in .mp4 or .gif, got {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    # an interrupted run never leaves half a video
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".mp4":
            # H.264 wants even sizes
            frames = [f[: f.shape[0] // 2 * 2, : f.shape[1] // 2 * 2] for f in frames]
            with imageio.get_writer(tmp, fps=fps, codec="libx264", quality=7, macro_block_size=1) as writer:
                for frame in frames:
                    writer.append_data(frame)
        else:
            imageio.mimsave(tmp, frames, duration=1000 / fps, loop=0)
    return path
