"""The wire encoding: msgpack, with numpy arrays as plain maps of bytes, dtype and shape.

The array map is openpi-client's (``openpi_client.msgpack_numpy``): ``{b"__ndarray__": True, b"data":
bytes, b"dtype": "<f4", b"shape": [..]}``, and ``{b"__npgeneric__": True, ...}`` for a numpy scalar,
so openpi's client and ours speak the same bytes. Decoding never unpickles and never builds an
object array: only booleans, integers and floats are accepted, the shape must be whole numbers
that the data's length matches exactly, and a message is at most ``max_bytes`` long (the server's
``--max-message-mib``). Anything else is a ``CodecError`` with one line saying what was wrong.
"""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np

ARRAY_KINDS = "biuf"  # bool, signed and unsigned integers, floats: nothing that needs pickle or Python objects
MAX_DIMS = 8


class CodecError(ValueError):
    """A message that is not a well-formed gr-bench/openpi msgpack message."""


def _pack(obj: Any) -> Any:
    if isinstance(obj, np.ndarray | np.generic):
        if obj.dtype.kind not in ARRAY_KINDS:
            raise CodecError(f"cannot send an array of dtype {obj.dtype}: only bool, integer and float arrays travel")
        if isinstance(obj, np.generic):
            return {b"__npgeneric__": True, b"data": obj.item(), b"dtype": obj.dtype.str}
        array = np.ascontiguousarray(obj)
        return {b"__ndarray__": True, b"data": array.tobytes(), b"dtype": array.dtype.str, b"shape": list(array.shape)}
    if isinstance(obj, tuple):
        return list(obj)
    raise CodecError(f"cannot send a {type(obj).__name__}: only dicts, lists, strings, numbers and arrays travel")


def _dtype(name: Any) -> np.dtype:
    if not isinstance(name, str | bytes):
        raise CodecError(f"an array's dtype must be a string such as '<f4', got {name!r}")
    try:
        dtype = np.dtype(name.decode() if isinstance(name, bytes) else name)
    except (TypeError, ValueError, UnicodeDecodeError) as exc:
        raise CodecError(f"unknown array dtype {name!r}") from exc
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise CodecError(f"array dtype {dtype} refused: only bool, integer and float arrays are accepted")
    return dtype


def _unpack(obj: dict) -> Any:
    if b"__ndarray__" in obj:
        dtype = _dtype(obj.get(b"dtype"))
        shape, data = obj.get(b"shape"), obj.get(b"data")
        if not isinstance(data, bytes):
            raise CodecError("an array's data must be bytes")
        if (
            not isinstance(shape, list | tuple)
            or len(shape) > MAX_DIMS
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
        ):
            raise CodecError(f"an array's shape must be a list of at most {MAX_DIMS} whole numbers, got {shape!r}")
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if expected != len(data):
            raise CodecError(f"array of shape {list(shape)} and dtype {dtype} needs {expected} bytes, got {len(data)}")
        # a writable copy, as an agent in process gets: some write into their observations
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    if b"__npgeneric__" in obj:
        dtype = _dtype(obj.get(b"dtype"))
        value = obj.get(b"data")
        if isinstance(value, bool | int | float):
            return dtype.type(value)
        raise CodecError(f"a numpy scalar's data must be a number, got {type(value).__name__}")
    return obj


def _refuse_ext(code: int, data: bytes) -> Any:
    raise CodecError(f"msgpack extension type {code} refused: only maps, lists, strings, numbers and arrays travel")


def packb(obj: Any) -> bytes:
    """``obj`` (dicts, lists, strings, numbers, bool/int/float arrays) as msgpack bytes."""
    try:
        return msgpack.packb(obj, default=_pack, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as exc:
        if isinstance(exc, CodecError):
            raise
        raise CodecError(f"cannot encode the message: {exc}") from exc


def unpackb(data: bytes, max_bytes: int | None = None) -> Any:
    """The message ``data`` encodes; a ``CodecError`` for anything malformed, oversized or refused."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CodecError(f"expected a binary msgpack frame, got {type(data).__name__}")
    if max_bytes is not None and len(data) > max_bytes:
        raise CodecError(f"message of {len(data)} bytes exceeds the limit of {max_bytes} bytes")
    try:
        return msgpack.unpackb(data, object_hook=_unpack, ext_hook=_refuse_ext, raw=False, strict_map_key=False)
    except CodecError:
        raise
    except (ValueError, TypeError, msgpack.UnpackException, msgpack.ExtraData) as exc:
        raise CodecError(f"malformed msgpack message: {type(exc).__name__}: {exc}") from exc


def plain_keys(message: Any) -> Any:
    """``message`` with bytes map keys decoded to str (openpi packs some keys as bytes)."""
    if isinstance(message, dict):
        return {(k.decode() if isinstance(k, bytes) else k): plain_keys(v) for k, v in message.items()}
    if isinstance(message, list):
        return [plain_keys(v) for v in message]
    return message
