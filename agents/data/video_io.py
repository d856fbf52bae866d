"""Video files through PyAV: one H.264 file per recorded episode, episodes joined into LeRobot v3's
shared files without re-encoding, and frames decoded into memory at the size a model wants.

Torch-free, so the data collection can use it without loading torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from agents.atomic import atomic_path

CODEC = "libx264"  # written as "h264" in info.json
PIX_FMT = "yuv420p"
CRF = 18  # x264 quality: visually lossless at these small sizes
GOP = 30  # frames between keyframes: one a second at 30 Hz
VIDEO_EXTENSIONS = (".mp4", ".webm", ".avi", ".mkv", ".gif")
# x264 without B-frames: every packet's decode time equals its presentation time, so episodes can be
# joined packet by packet with shifted timestamps
ENCODER_OPTIONS = {"crf": str(CRF), "g": str(GOP), "bf": "0", "preset": "veryfast"}


class VideoError(ValueError):
    """A video file that cannot be read or written: says which file and why."""


def _av():
    import av
    import av.video.reformatter  # noqa: F401  (not loaded by ``import av`` in every release)

    return av


def encode_video(path: str | Path, frames: np.ndarray, fps: int) -> Path:
    """Write ``frames`` (N, H, W, 3) uint8 as H.264 yuv420p in an mp4, atomically.

    H and W must be even (yuv420p). The file appears under ``path`` only once complete.
    """
    av = _av()
    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise VideoError(
            f"{path}: expected at least one frame as (N, H, W, 3) uint8, got {frames.dtype} {frames.shape}"
        )
    height, width = frames.shape[1:3]
    if height % 2 or width % 2:
        raise VideoError(f"{path}: H.264 in yuv420p needs an even width and height, got {width}x{height}")
    with atomic_path(path) as tmp, av.open(str(tmp), "w", format="mp4") as container:
        stream = container.add_stream(CODEC, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, PIX_FMT
        stream.options = dict(ENCODER_OPTIONS)
        stream.codec_context.time_base = Fraction(1, fps)
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def concat_videos(out: str | Path, inputs: Sequence[str | Path], frame_counts: Sequence[int], fps: int) -> list[float]:
    """Join mp4 files written by ``encode_video`` (same size and settings) into ``out`` by copying
    their packets with shifted timestamps; nothing is re-encoded.

    Returns the start time (s) of each input in ``out``: frame ``k`` of input ``i`` plays at
    ``starts[i] + k / fps``.
    """
    av = _av()
    out = Path(out)
    starts, offset_frames = [], 0
    with atomic_path(out) as tmp, av.open(str(tmp), "w", format="mp4") as container:
        out_stream = None
        for path, count in zip(inputs, frame_counts, strict=True):
            starts.append(offset_frames / fps)
            try:
                source = av.open(str(path))
            except av.FFmpegError as exc:
                raise VideoError(f"cannot read video {path}: {exc}") from exc
            with source:
                stream = source.streams.video[0]
                if out_stream is None:
                    out_stream = container.add_stream_from_template(stream)
                shift = int(round(Fraction(offset_frames, fps) / stream.time_base))
                for packet in source.demux(stream):
                    if packet.dts is None:  # the demuxer's end-of-stream marker
                        continue
                    packet.pts += shift
                    packet.dts += shift
                    packet.stream = out_stream
                    container.mux(packet)
            offset_frames += count
    return starts


def decode_video(
    path: str | Path,
    size: tuple[int, int] | None = None,
    ranges: Sequence[tuple[int, int]] | None = None,
) -> list[np.ndarray]:
    """Decode frames of a video file as uint8 arrays (N, 3, H, W), channels first.

    Args:
        size: (height, width) to resize to while decoding; None keeps the file's size.
        ranges: (start, stop) frame ranges to return, one array each; None: the whole video.
    Returns:
        One array per range (or one for the whole video).
    """
    av = _av()
    wanted = [(0, None)] if ranges is None else [(int(a), int(b)) for a, b in ranges]
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise VideoError(f"cannot open video {path}: {exc}") from exc
    last = None if ranges is None else max((b for _, b in wanted), default=0)
    frames: list[np.ndarray] = []
    with container:
        if not container.streams.video:
            raise VideoError(f"{path} holds no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        height, width = size if size is not None else (stream.codec_context.height, stream.codec_context.width)
        # one reformatter for the whole file keeps its scaler: a new one per frame costs 5x more
        reformatter = av.video.reformatter.VideoReformatter()
        try:
            for index, frame in enumerate(container.decode(stream)):
                if last is not None and index >= last:
                    break
                if ranges is None or any(a <= index < b for a, b in wanted):
                    rgb = reformatter.reformat(frame, width, height, "rgb24", interpolation="AREA")
                    frames.append((index, rgb.to_ndarray().transpose(2, 0, 1)))
        except av.FFmpegError as exc:
            raise VideoError(f"cannot decode video {path}: {exc}") from exc
    if ranges is None:
        if not frames:
            raise VideoError(f"{path} holds no frames")
        return [np.stack([f for _, f in frames])]
    by_index = dict(frames)
    out = []
    for a, b in wanted:
        missing = [i for i in range(a, b) if i not in by_index]
        if missing:
            raise VideoError(f"{path} ends before frame {missing[0]} (wanted frames {a}..{b - 1})")
        out.append(np.stack([by_index[i] for i in range(a, b)]) if b > a else np.zeros((0, 3, height, width), np.uint8))
    return out


def count_frames(path: str | Path) -> int:
    """Number of frames, by demuxing (no decoding)."""
    av = _av()
    try:
        with av.open(str(path)) as container:
            return sum(1 for p in container.demux(container.streams.video[0]) if p.size)
    except (av.FFmpegError, OSError, IndexError) as exc:
        raise VideoError(f"cannot read video {path}: {exc}") from exc
