"""What ``gr-bench train`` builds for GR-2: its VQGAN tokenizer (``--agent vqgan``), then the policy's
two stages (``--agent gr2``).

- ``--agent vqgan`` (``build_tokenizer``): the image tokenizer alone, trained first on single frames and
  frozen for policy training. The frames are every camera image of collected LeRobot datasets
  (``--data``) and of video corpora (``--videos``: folders of video files or collected datasets), each
  resized to the config's square ``image_size``. The model is the tokenizer itself (``VQGAN.loss``
  reports L1, VQ loss, PSNR and code usage), so its checkpoint's weights are the ``tokenizer.`` part of
  a GR-2 model.
- ``--agent gr2 --stage pretrain`` (``build``): video-language pre-training, next-frame-token
  cross-entropy only (``action_loss`` off), on captioned frames without actions: video folders
  (``VideoCorpus``; captions from sidecar files) and the frames and instructions of collected datasets
  (``--videos``, ``--data``, both repeatable).
- ``--agent gr2 --stage finetune`` (``build``): demonstrations (one ``--data`` dataset), both losses.

The frozen tokenizer comes from ``--tokenizer`` (a checkpoint or run of ``--agent vqgan``): its
checkpoint sets the model's tokenizer fields (``TOKENIZER_FIELDS``; a ``--set`` that contradicts them
is refused) and its weights. With ``--init`` (a GR-2 checkpoint, e.g. the pre-training run), the model
is the checkpoint's (its config, ``--set`` on top; ``--config`` is not read) and so is the tokenizer,
which travels inside every GR-2 checkpoint; the training loop loads the weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from agents.data.spans import Spans
from agents.gr2.config import CAMERAS, TOKENIZER_FIELDS, GR2Config, get_config

STAGES = ("pretrain", "finetune")
TOKENIZER_STAGES = STAGES  # --agent vqgan: one stage, under either name, trains the tokenizer on frames


class Frames(Dataset):
    """Every camera image of the sources as one float (3, S, S) sample in [0, 1].

    Args:
        sources: folders of video files or LeRobot v3 datasets (``agents.data.VideoCorpus``'s sources).
        image_size: the square side every frame is resized to.
    """

    def __init__(self, sources: Sequence[str], image_size: int):
        from agents.data import VideoCorpus

        size = (int(image_size), int(image_size))
        corpus = VideoCorpus(list(sources), history=1, future=0, image_size={cam: size for cam in CAMERAS})
        self.videos = [clip.frames for clip in corpus.clips]
        self.videos += [clip.gripper for clip in corpus.clips if clip.gripper is not None]
        self._spans = Spans(len(v) for v in self.videos)
        if not len(self):
            raise ValueError(f"no frames in {', '.join(map(str, sources))}")

    def __len__(self) -> int:
        return len(self._spans)

    def __getitem__(self, index: int) -> torch.Tensor:
        video, t = self._spans.locate(index)
        frame = self.videos[video][t]
        return torch.from_numpy(np.ascontiguousarray(frame)).float().div_(255)

    def __repr__(self) -> str:
        return f"Frames({len(self)} frames from {len(self.videos)} videos)"


class CodedWindows(Dataset):
    """Fine-tuning windows whose frames arrive as the frozen tokenizer's code ids, each frame encoded once.

    The tokenizer is frozen while the policy trains and nothing augments the frames, so a frame's codes never
    change: encoding an episode's frames the first time a window of it is drawn, and reading them afterwards,
    gives the trunk the codes it would get from the images (a padded step's codes are never attended to),
    while the tokenizer runs over each frame once instead of once per window that holds it (a window of T
    steps is T frames per camera; about 40% of a tiny fine-tuning step went to encoding, measured).

    Encoding is lazy, not done here: the training loop loads the weights (``--init``, ``--resume``) after the
    dataset is built, and the codes must come from the tokenizer that trains with them.

    Args:
        windows: an ``EpisodeWindows`` over both cameras.
        model: the GR-2 model whose frozen tokenizer encodes (``GR2.encode_frames``).

    A sample is the window's without its images: ``codes`` int64 (T, cameras * g * g) in ``GR2.frame_codes``'
    order, zeros on padded steps.
    """

    def __init__(self, windows, model):
        if not model.config.freeze_tokenizer:
            raise ValueError("CodedWindows caches a frozen tokenizer's codes; this model trains its tokenizer")
        self.windows = windows
        self.model = model
        self._codes: dict[int, torch.Tensor] = {}  # episode position -> (L, cameras * g * g) int16

    def __len__(self) -> int:
        return len(self.windows)

    @torch.no_grad()
    def episode_codes(self, e: int) -> torch.Tensor:
        """(L, cameras * g * g) code ids of every frame of episode position ``e``, encoded on first use."""
        if e not in self._codes:
            device = next(self.model.tokenizer.buffers()).device
            codes = []
            for cam in CAMERAS:
                frames = torch.from_numpy(self.windows.episode_frames(e, cam))  # (L, 3, S, S) uint8
                codes.append(torch.cat([self.model.encode_frames(part.to(device)).cpu() for part in frames.split(256)]))
            self._codes[e] = torch.cat(codes, -1).to(torch.int16)
        return self._codes[e]

    def __getitem__(self, index: int) -> dict[str, Any]:
        from agents.data.windows import window_steps

        sample = self.windows[index]
        for cam in CAMERAS:
            del sample[cam], sample[f"future_{cam}"]
        e, t = self.windows.locate(int(index))
        window = window_steps(t, int(self.windows.lengths[e]), self.windows.history, self.windows.future)
        steps = torch.from_numpy(window["steps"])
        codes = self.episode_codes(e)[steps.clamp(min=0)].long()
        codes[steps < 0] = 0
        sample["codes"] = codes
        return sample

    def __repr__(self) -> str:
        return f"CodedWindows({self.windows!r}, {len(self._codes)} episodes encoded)"


def build_tokenizer(
    config: str = "tiny",
    overrides: dict[str, Any] | None = None,
    stage: str = "pretrain",
    data: str | Sequence[str] | None = None,
    videos: list[str] | None = None,
    tasks: list[str] | None = None,
):
    """``--agent vqgan``: returns (tokenizer, frames, checkpoint_config)."""
    from agents.gr2.tokenizer import VQGAN

    if stage not in TOKENIZER_STAGES:
        raise ValueError(f"unknown stage {stage!r} for the VQGAN tokenizer: use one of {TOKENIZER_STAGES}")
    if tasks:
        raise ValueError("the VQGAN tokenizer trains on every frame: --tasks is not taken")
    data = [data] if isinstance(data, str) else list(data or [])
    sources = [str(s) for s in [*data, *(videos or [])]]
    if not sources:
        raise ValueError(
            "the VQGAN tokenizer needs --videos DIR (video files or a collected dataset) or --data DATASET"
        )
    model_config = get_config(config, overrides)
    dataset = Frames(sources, model_config.image_size)
    checkpoint_config = {
        "agent": "vqgan",
        "stage": "tokenizer",
        "model": model_config.to_dict(),
        "source": {"data": data, "videos": [str(v) for v in videos or []]},
    }
    return VQGAN(model_config), dataset, checkpoint_config


def _listed(value: str | Sequence[str] | None) -> list[str]:
    return [str(value)] if isinstance(value, str) else [str(v) for v in value or []]


def _tokenizer_source(tokenizer: str) -> tuple[Any, GR2Config, dict[str, Any]]:
    """(checkpoint folder, its config, provenance) of a ``--agent vqgan`` checkpoint or run."""
    from agents.train.checkpoint import checkpoint_sha256, read_agent_checkpoint

    folder, saved = read_agent_checkpoint(tokenizer, "vqgan")
    provenance = {"checkpoint": str(tokenizer), "sha256": checkpoint_sha256(folder), "step": saved.get("step")}
    return folder, GR2Config.from_dict(saved["model"]), provenance


def _model_config(
    config: str, overrides: dict[str, Any], stage: str, tokenizer: str | None, init: str | None
) -> tuple[GR2Config, Any, dict[str, Any]]:
    """(model config, tokenizer folder to load or None when ``init`` brings it, tokenizer provenance)."""
    overrides = dict(overrides)
    if stage == "pretrain":
        overrides["action_loss"] = False  # video pre-training: next-frame tokens only
    if init:
        from agents.train.checkpoint import read_agent_checkpoint

        _, saved = read_agent_checkpoint(init, "gr2")
        provenance = (saved.get("source") or {}).get("tokenizer") or {}
        if tokenizer:
            _, _, given = _tokenizer_source(tokenizer)
            if given["sha256"] != provenance.get("sha256"):
                raise ValueError(
                    f"--init {init} was trained with the tokenizer {provenance.get('checkpoint')!r}, not --tokenizer "
                    f"{tokenizer}; the tokenizer comes with the GR-2 checkpoint: leave out --tokenizer"
                )
        changed = sorted(set(overrides) & set(TOKENIZER_FIELDS))
        if changed:
            raise ValueError(f"--set {', '.join(changed)}: the tokenizer of --init {init} is fixed; train another")
        if stage == "finetune":
            overrides.setdefault("action_loss", True)  # a pre-training checkpoint has it off
        return GR2Config.from_dict(saved["model"]).with_overrides(overrides), None, provenance
    if not tokenizer:
        more = " or --init a GR-2 checkpoint (the pre-training run)" if stage == "finetune" else ""
        raise ValueError(
            f"GR-2 trains on a frozen VQGAN tokenizer: give --tokenizer CHECKPOINT (made by gr-bench train "
            f"--agent vqgan){more}"
        )
    folder, tokenizer_config, provenance = _tokenizer_source(tokenizer)
    wanted = get_config(config, overrides)
    fixed = {name: getattr(tokenizer_config, name) for name in TOKENIZER_FIELDS}
    differing = [name for name in TOKENIZER_FIELDS if name in overrides and getattr(wanted, name) != fixed[name]]
    if differing:
        asked = ", ".join(f"{name}={getattr(wanted, name)!r}" for name in differing)
        has = ", ".join(f"{name}={fixed[name]!r}" for name in differing)
        raise ValueError(f"--set {asked} contradicts the tokenizer {tokenizer} ({has}): its checkpoint shapes it")
    return get_config(config, {**overrides, **fixed}), folder, provenance


def build(
    config: str = "tiny",
    overrides: dict[str, Any] | None = None,
    stage: str = "finetune",
    data: str | Sequence[str] | None = None,
    videos: list[str] | None = None,
    tasks: list[str] | None = None,
    tokenizer: str | None = None,
    init: str | None = None,
):
    """``--agent gr2``: returns (model, dataset, checkpoint_config) of a stage.

    ``tokenizer``: a ``--agent vqgan`` checkpoint or run (frozen); ``init``: a GR-2 checkpoint or run
    whose config and tokenizer the model takes (its weights are loaded by the training loop)."""
    from agents.gr2.model import GR2
    from agents.train.checkpoint import load_weights

    if stage not in STAGES:
        raise ValueError(f"GR-2 has no {stage!r} stage: use one of {STAGES}")
    data, videos = _listed(data), _listed(videos)
    model_config, tokenizer_folder, tokenizer_provenance = _model_config(
        config, overrides or {}, stage, tokenizer, init
    )
    size = (model_config.image_size, model_config.image_size)
    image_size = {cam: size for cam in CAMERAS}
    normalizer = None
    if stage == "pretrain":
        if tasks:
            raise ValueError("--stage pretrain trains on every frame of its sources: --tasks is for finetune")
        sources = [*data, *videos]
        if not sources:
            raise ValueError(
                "--stage pretrain needs --videos DIR (video files, or a collected dataset) and/or --data DATASET"
            )
        from agents.data import VideoCorpus

        dataset = VideoCorpus(sources, history=model_config.history, future=0, image_size=image_size)
        source: dict[str, Any] = {"data": data, "videos": videos}
    else:
        if videos:
            raise ValueError("GR-2 fine-tunes on demonstrations (--data); plain video is for --stage pretrain")
        if len(data) != 1:
            raise ValueError(
                "--stage finetune needs one --data DATASET (made by gr-bench collect)"
                + (f", got {len(data)}" if data else "")
            )
        from agents.data import EpisodeWindows

        dataset = EpisodeWindows(
            data[0],
            history=model_config.history,
            future=0,
            chunk=model_config.chunk,
            image_size=image_size,
            tasks=tasks,
        )
        normalizer = dataset.normalizer.to_dict()
        source = {"data": data[0], "tasks": tasks}
    model = GR2(model_config)
    if tokenizer_folder is not None:
        load_weights(model.tokenizer, tokenizer_folder)
    if stage == "finetune" and model_config.freeze_tokenizer:
        dataset = CodedWindows(dataset, model)
    checkpoint_config = {
        "agent": "gr2",
        "stage": stage,
        "model": model_config.to_dict(),
        "normalizer": normalizer,
        "source": {**source, "tokenizer": tokenizer_provenance, "init": init and str(init)},
    }
    return model, dataset, checkpoint_config
