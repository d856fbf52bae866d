"""Vision-language (question answering) data for co-training a VLM, as ``gr-bench collect-vl`` writes it.

A folder:

    meta.json         {"format": "gr-bench-vqa", "version": 1, "env": ..., "cameras": [...], "scenes": N,
                       "questions": M, "kinds": {kind: count}, ...}
    images.npz        one array per camera, (N, H, W, 3) uint8: the scenes as the robot's cameras saw them
    questions.jsonl   one line per question: {"scene": i, "kind": ..., "question": ..., "answer": ...}

``VQADataset`` yields one question per item with its scene's views (``rgb_<camera>`` as (3, H, W)
uint8 tensors, the layout ``EpisodeWindows`` uses for one frame), ``question`` and ``answer``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "gr-bench-vqa"
VERSION = 1


def write_vqa(
    out: str | Path, images: dict[str, np.ndarray], questions: Sequence[dict[str, Any]], meta: dict[str, Any]
) -> Path:
    """Write a VQA folder atomically (into a sibling temporary folder, then renamed); refuses to
    replace an existing folder."""
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists; choose another --out (nothing was written)")
    scenes = {len(v) for v in images.values()}
    if len(scenes) != 1:
        raise ValueError(f"every camera needs one image per scene, got counts {sorted(scenes)}")
    (n,) = scenes
    bad = [q for q in questions if not 0 <= q["scene"] < n]
    if bad:
        raise ValueError(f"question {bad[0]} refers to a scene outside 0..{n - 1}")
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    np.savez_compressed(tmp / "images.npz", **images)
    with open(tmp / "questions.jsonl", "w", encoding="utf-8") as f:
        for q in questions:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    full_meta = {
        "format": FORMAT,
        "version": VERSION,
        **meta,
        "cameras": sorted(images),
        "scenes": n,
        "questions": len(questions),
        "kinds": dict(sorted(Counter(q["kind"] for q in questions).items())),
    }
    (tmp / "meta.json").write_text(json.dumps(full_meta, indent=1))
    os.replace(tmp, out)
    return out


def read_vqa_meta(root: str | Path) -> dict[str, Any]:
    root = Path(root)
    path = root / "meta.json"
    if not path.exists():
        raise FileNotFoundError(f"{root} is not a VQA dataset (no meta.json); make one with gr-bench collect-vl")
    meta = json.loads(path.read_text())
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise ValueError(
            f"{root} holds format {meta.get('format')!r} version {meta.get('version')!r}, "
            f"expected {FORMAT!r} version {VERSION}"
        )
    return meta


class VQADataset:
    """Question-answer pairs with their scene's camera views (loaded into memory).

    Args:
        root: a folder written by ``gr-bench collect-vl``.
        cameras: observation keys to return (``rgb_static``, ...); every one must be in the data.
        image_size: (height, width) to resize every view to once, at load (area interpolation, as
            ``EpisodeWindows`` decodes demonstrations); None keeps the recorded sizes.
    """

    def __init__(self, root: str | Path, cameras: Sequence[str], image_size: tuple[int, int] | None = None):
        import torch
        import torch.nn.functional as F

        self.root = Path(root)
        self.meta = read_vqa_meta(self.root)
        names = [c.removeprefix("rgb_") for c in cameras]
        missing = [c for c in names if c not in self.meta["cameras"]]
        if missing:
            raise ValueError(
                f"{self.root} has cameras {self.meta['cameras']}, not {missing}: "
                "collect it from the robot's environment"
            )
        with np.load(self.root / "images.npz") as arrays:
            # (N, 3, H, W) uint8 per camera, ready to index
            self.images = {f"rgb_{c}": torch.from_numpy(arrays[c]).permute(0, 3, 1, 2).contiguous() for c in names}
        if image_size is not None:
            for key, images in self.images.items():
                if tuple(images.shape[-2:]) != tuple(image_size):
                    resized = F.interpolate(images.float(), size=tuple(image_size), mode="area")
                    self.images[key] = resized.round().clamp(0, 255).to(torch.uint8)
        with open(self.root / "questions.jsonl", encoding="utf-8") as f:
            self.questions = [json.loads(line) for line in f]
        if not self.questions:
            raise ValueError(f"{self.root} holds no questions")

    def __len__(self) -> int:
        return len(self.questions)

    def __getitem__(self, index: int) -> dict[str, Any]:
        q = self.questions[index]
        return {
            **{key: images[q["scene"]] for key, images in self.images.items()},
            "question": q["question"],
            "answer": q["answer"],
        }

    def __repr__(self) -> str:
        return f"VQADataset({self.root}, {len(self)} questions on {self.meta['scenes']} scenes)"
