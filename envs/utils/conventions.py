"""Conventions every gr-bench environment shares, so that agents and experts read them from one place."""

from __future__ import annotations

import string
from typing import Any

import numpy as np

# relative end-effector actions, as CALVIN: what an action component of 1 moves in one control step
MAX_REL_POS = 0.02  # metres
MAX_REL_ORN = 0.05  # radians

# instructions may be in English, other European languages or Chinese (the ood-instruction suite)
INSTRUCTION_CHARSET = (
    string.printable
    + "".join(map(chr, range(0xA0, 0x180)))  # Latin-1 and Latin Extended-A: ä, é, ß, ...
    + "".join(map(chr, range(0x3000, 0x3040)))  # CJK punctuation
    + "".join(map(chr, range(0x4E00, 0xA000)))  # CJK unified ideographs
    + "".join(map(chr, range(0xFF00, 0xFF60)))  # full-width forms
)
MAX_INSTRUCTION_CHARS = 512  # the length the observation space's Text allows
INSTRUCTION_SPLITS = ("train", "eval")  # phrasings demonstrations use; phrasings held out for evaluation


def checked_instruction(instruction: str | None) -> str | None:
    """``instruction`` if it is one the observation space can hold (a string of at most
    ``MAX_INSTRUCTION_CHARS`` characters of ``INSTRUCTION_CHARSET``), or None; else ValueError."""
    if instruction is None:
        return None
    if not isinstance(instruction, str):
        raise ValueError(f"instruction must be a string, got {type(instruction).__name__}")
    if len(instruction) > MAX_INSTRUCTION_CHARS:
        raise ValueError(f"instruction has {len(instruction)} characters; at most {MAX_INSTRUCTION_CHARS} are allowed")
    outside = sorted({c for c in instruction if c not in _CHARSET})
    if outside:
        raise ValueError(
            f"instruction has characters outside the instruction space: {''.join(outside[:10])!r} "
            "(allowed: printable ASCII, Latin-1, Latin Extended-A, CJK ideographs and punctuation)"
        )
    return instruction


def real_action(action) -> np.ndarray:
    """``action`` as a float64 array; strings, complex numbers and objects are refused, not converted."""
    array = np.asarray(action)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"an action is an array of real numbers; got {array.dtype} values: {array.ravel()[:7]!r}")
    return array.astype(np.float64)


def checked_options(options: dict[str, Any] | None, allowed: tuple[str, ...]) -> dict[str, Any]:
    """A copy of ``reset``'s ``options``, or one clear error naming the ones not in ``allowed``."""
    options = dict(options or {})
    unknown = set(options) - set(allowed)
    if unknown:
        raise ValueError(f"unknown reset options {sorted(unknown)}; allowed: {', '.join(allowed)}")
    return options


def checked_action(action, shape: tuple[int, ...], layout: str) -> np.ndarray:
    """``action`` as a float64 array of ``shape`` with every number finite, or one clear error
    (``layout`` says what the numbers are, for that error)."""
    array = real_action(action)
    if array.shape != shape:
        raise ValueError(f"action must have shape {shape}: {layout}; got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"action contains NaN or inf: {array.tolist()}")
    return array


_CHARSET = frozenset(INSTRUCTION_CHARSET)
