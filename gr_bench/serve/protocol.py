"""The messages of ``gr-bench serve``: what a client may send, what it gets back, and the metadata.

One WebSocket connection is one episode stream: the server builds an agent session for it and
sends the metadata (one msgpack map, ``"type": "metadata"``) as the first frame. Then each client
frame is one msgpack map and gets exactly one reply:

- ``{"type": "seed", "seed": int}`` -> ``{"type": "ok"}`` (the agent's ``seed`` hook, before an episode);
- ``{"type": "bind", "action_space": {"low": array, "high": array}}`` -> ``{"type": "ok"}`` (the
  ``bind_action_space`` hook, before each task; a robot the agent refuses is an error);
- ``{"type": "reset", "instruction": str}`` -> ``{"type": "ok"}``;
- ``{"type": "act", "observation": {...}}`` -> ``{"type": "action", "action": array, "status": str}``;
- ``{"type": "status"}`` -> ``{"type": "status", ...}``: the session's instruction, acts, last status;
- a map without ``"type"``: an openpi-client ``infer(obs)``: the map is the observation, its
  ``prompt`` the instruction (a new prompt resets the agent), and the reply is openpi's
  ``{"actions": array (1, action_dim), "status": str, "server_timing": {"infer_ms": float}}``.

An error is a text frame (openpi's client raises it as a ``RuntimeError``) and the connection
stays open; the session's state is what it was before the failing request.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gr_bench.serve.codec import CodecError

PROTOCOL_VERSION = 1
MESSAGE_TYPES = ("seed", "bind", "reset", "act", "status")
OPENPI_PROMPT = "prompt"  # openpi's key for the instruction
ERROR_PREFIX = "gr-bench serve: "
HEALTH_PATH = "/healthz"


class ProtocolError(ValueError):
    """A request that is well-formed msgpack but not a valid gr-bench request."""


def request_type(message: Any) -> str | None:
    """The request's type, or None for an openpi-style observation."""
    if not isinstance(message, dict):
        raise ProtocolError(f"a request is a msgpack map, got a {type(message).__name__}")
    kind = message.get("type")
    if kind is None:
        return None
    if kind not in MESSAGE_TYPES:
        raise ProtocolError(f"unknown request type {kind!r}: one of {', '.join(MESSAGE_TYPES)}")
    return kind


def field(message: dict, name: str, kind: type, what: str) -> Any:
    """``message[name]``, which must be a ``kind`` (never a bool standing for a number)."""
    value = message.get(name)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ProtocolError(f"{message.get('type')} request needs {name!r}: {what}; got {value!r:.80}")
    return value


def check_observation(observation: Any) -> dict[str, Any]:
    """An observation as the Agent contract has it: string keys; camera images ``rgb_*`` uint8
    HxWx3; ``robot_obs`` a 1-D numeric vector; other values arrays, strings or numbers."""
    if not isinstance(observation, dict) or not all(isinstance(k, str) for k in observation):
        raise ProtocolError("an observation is a map with string keys")
    for key, value in observation.items():
        if key.startswith("rgb_"):
            if not isinstance(value, np.ndarray) or value.dtype != np.uint8 or value.ndim != 3 or value.shape[2] != 3:
                got = f"{value.dtype} array of shape {value.shape}" if isinstance(value, np.ndarray) else repr(value)
                raise ProtocolError(f"observation {key!r} must be a uint8 image of shape (H, W, 3), got {got:.80}")
        elif key == "robot_obs":
            if not isinstance(value, np.ndarray) or value.ndim != 1 or value.dtype.kind not in "iuf":
                got = f"shape {value.shape}" if isinstance(value, np.ndarray) else repr(value)
                raise ProtocolError(f"observation 'robot_obs' must be a 1-D numeric vector, got {got:.80}")
        elif not isinstance(value, np.ndarray | np.generic | str | int | float | bool) and value is not None:
            raise ProtocolError(f"observation {key!r}: arrays, strings and numbers only, got {type(value).__name__}")
    return observation


def action_space_message(space) -> dict[str, Any]:
    """A ``gymnasium.spaces.Box`` as a message."""
    return {"low": np.asarray(space.low, dtype=np.float64), "high": np.asarray(space.high, dtype=np.float64)}


def action_space_from(message: Any):
    """The ``gymnasium.spaces.Box`` a bind request describes."""
    import gymnasium as gym

    if not isinstance(message, dict):
        raise ProtocolError("bind request needs 'action_space': {'low': array, 'high': array}")
    low, high = message.get("low"), message.get("high")
    if not isinstance(low, np.ndarray) or not isinstance(high, np.ndarray) or low.shape != high.shape:
        raise ProtocolError("bind request's action_space needs arrays 'low' and 'high' of one shape")
    if low.ndim != 1 or not 0 < len(low) <= 4096 or np.any(np.isnan(low)) or np.any(np.isnan(high)):
        raise ProtocolError(f"bind request's action_space must be a 1-D Box of 1..4096 dimensions, got {low.shape}")
    if np.any(low > high):
        raise ProtocolError("bind request's action_space has low > high")
    return gym.spaces.Box(low=low.astype(np.float32), high=high.astype(np.float32), dtype=np.float32)


def error_text(exc: BaseException) -> str:
    """The one line an error frame carries."""
    text = " ".join(str(exc).split())
    if isinstance(exc, ProtocolError | CodecError):
        return ERROR_PREFIX + text
    return f"{ERROR_PREFIX}{type(exc).__name__}: {text}" if text else ERROR_PREFIX + type(exc).__name__
