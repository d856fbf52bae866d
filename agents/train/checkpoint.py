"""Checkpoints: a directory with ``config.json`` (everything needed to rebuild the agent),
``model.safetensors`` (the trained weights) and, for resuming, ``training_state.pt`` (optimizer,
scheduler, RNG states, step).

Weights of frozen pretrained encoders are not copied into every checkpoint: they are reloaded from
the path or hub name the config names, as they were when training started.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from torch import nn

from agents.atomic import write_atomic

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
TRAINING_STATE = "training_state.pt"
LAST = "last"  # a file in the checkpoints folder naming the newest complete checkpoint


def trained_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Parameters that train, and persistent buffers; frozen encoder weights are left out."""
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    state = model.state_dict()
    params = {name for name, _ in model.named_parameters()}
    return {k: v.detach().cpu().contiguous() for k, v in state.items() if k in trainable or k not in params}


def save_checkpoint(
    folder: Path,
    config: dict[str, Any],
    model: nn.Module,
    training_state: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically: into a temporary folder, then renamed into place."""
    from safetensors.torch import save_file

    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")
    save_file(trained_state_dict(model), str(tmp / WEIGHTS))
    if training_state is not None:
        torch.save(training_state, tmp / TRAINING_STATE)
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)
    return folder


def read_config(folder: str | Path) -> dict[str, Any]:
    folder = Path(folder)
    path = folder / CONFIG
    if not path.is_file():
        raise ValueError(
            f"{folder} is not a checkpoint: it has no {CONFIG} (a checkpoint holds {CONFIG} and {WEIGHTS})"
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is damaged ({exc}); restore or retrain the checkpoint") from exc
    if not isinstance(config, dict):
        raise ValueError(f"{path}: a checkpoint's config is a JSON object, got {type(config).__name__}")
    return config


def load_weights(model: nn.Module, folder: str | Path, strict: bool = True) -> None:
    """Load ``model.safetensors`` into ``model``.

    With ``strict``, every trained tensor of the model must be in the file and nothing else; without
    it (initialising fine-tuning from a pre-training checkpoint), tensors whose names and shapes
    match are loaded and the rest keep their initial values.
    """
    from safetensors.torch import load_file

    path = Path(folder) / WEIGHTS
    if not path.is_file():
        raise ValueError(f"{folder} has no {WEIGHTS}")
    try:
        weights = load_file(str(path))
    except Exception as exc:  # safetensors' own error type: a file cut short or not safetensors at all
        raise ValueError(f"{path} is damaged or not a safetensors file ({exc}); restore or retrain it") from exc
    expected = trained_state_dict(model)
    if strict:
        missing, unexpected = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
        if missing or unexpected:
            raise ValueError(
                f"checkpoint {folder} does not match the model: missing {missing[:5]}, unexpected {unexpected[:5]}"
            )
    else:
        weights = {k: v for k, v in weights.items() if k in expected and expected[k].shape == v.shape}
        if not weights:
            raise ValueError(f"no tensor of {folder} fits this model (names or shapes differ): it cannot initialise it")
    model.load_state_dict(weights, strict=False)


def mark_last(checkpoints: Path, folder: Path) -> None:
    write_atomic(checkpoints / LAST, folder.name)


def last_checkpoint(checkpoints: Path) -> Path | None:
    pointer = Path(checkpoints) / LAST
    if not pointer.is_file():
        return None
    folder = Path(checkpoints) / pointer.read_text(encoding="utf-8").strip()
    return folder if (folder / WEIGHTS).is_file() else None


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint folder, a training run folder (its newest checkpoint), or ``reference:NAME``
    (a checkpoint shipped with gr-bench, see agents.reference)."""
    from agents.reference import is_reference, reference_folder

    if is_reference(path):
        return reference_folder(str(path))
    path = Path(path)
    if (path / "config.json").is_file():
        return path
    newest = last_checkpoint(path / "checkpoints")
    if newest is None:
        raise ValueError(f"{path} is neither a checkpoint (config.json + model.safetensors) nor a training run")
    return newest


def checkpoint_sha256(path: str | Path) -> str:
    """The content hash of a checkpoint (or of a training run's newest one): what a model *is*,
    wherever it lies. It is the sha256 of the text ``sha256sum config.json model.safetensors``
    prints in the checkpoint folder, so ``sha256sum config.json model.safetensors | sha256sum``
    gives the same hash. The training state (optimizer, step) is left out: it does not act."""
    folder = resolve_checkpoint(path)
    listing = []
    for name in (CONFIG, WEIGHTS):
        if not (folder / name).is_file():
            raise ValueError(f"{folder} is not a complete checkpoint: it has no {name}")
        digest = hashlib.sha256()
        with open(folder / name, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):  # noqa: B023 - read at once
                digest.update(block)
        listing.append(f"{digest.hexdigest()}  {name}\n")
    return hashlib.sha256("".join(listing).encode()).hexdigest()


def read_agent_checkpoint(checkpoint: str | Path, agent: str) -> tuple[Path, dict[str, Any]]:
    """The checkpoint folder (a checkpoint, or a run's newest) and its config, checked to be ``agent``'s."""
    folder = resolve_checkpoint(checkpoint)
    saved = read_config(folder)
    if saved.get("agent") != agent:
        raise ValueError(f"{folder} is a checkpoint of {saved.get('agent')!r}, not {agent}")
    return folder, saved


def load_model(checkpoint: str | Path, agent: str, model_class, config_class) -> tuple[nn.Module, dict[str, Any]]:
    """``agent``'s model of a checkpoint (or a training run's newest, or ``reference:NAME``): built
    from its config by ``model_class(config_class.from_dict(...))``, its weights loaded, in eval
    mode; and the checkpoint's config."""
    folder, saved = read_agent_checkpoint(checkpoint, agent)
    model = model_class(config_class.from_dict(saved["model"]))
    load_weights(model, folder)
    return model.eval(), saved


def policy_model(
    checkpoint: str | Path, agent: str, model_class, config_class, device: str, threads: int | None
) -> tuple[nn.Module, dict[str, Any], torch.device]:
    """What an agent's constructor starts with: torch limited to ``threads`` threads (None or 0:
    as torch chose), the model (``load_model``) on ``device``, its checkpoint's config, the device."""
    if threads:
        torch.set_num_threads(threads)
    model, saved = load_model(checkpoint, agent, model_class, config_class)
    device = torch.device(device)
    return model.to(device), saved, device


def action_normalizer(saved: dict[str, Any], checkpoint: str | Path, agent: str):
    """The action and state normaliser of a fine-tuned checkpoint (its config ``saved``); one clear
    error for a checkpoint trained without actions (video pre-training only)."""
    from agents.data.normalize import Normalizer

    if not saved.get("normalizer"):
        raise ValueError(
            f"checkpoint {checkpoint} was trained without actions (video pre-training); fine-tune it on "
            f"demonstrations before evaluating: gr-bench train --agent {agent} --stage finetune --init ..."
        )
    return Normalizer.from_dict(saved["normalizer"])
