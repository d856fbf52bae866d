"""The LeRobot v3.0 dataset layout, written and read with pyarrow and PyAV (no ``lerobot`` package).

    meta/info.json                        version, fps, features (dtype, shape, names), path templates, totals
    meta/stats.json                       min/max/mean/std/count/q01..q99 per numeric feature; per-channel for videos
    meta/tasks.parquet                    task text (the index, named "task") -> task_index
    meta/episodes/chunk-000/file-000.parquet
                                          one row per episode: tasks, length, where its rows and video
                                          segments are, its own stats ("stats/<key>/<stat>"), extra columns
    data/chunk-CCC/file-FFF.parquet       one row per frame, several episodes per file
    videos/<key>/chunk-CCC/file-FFF.mp4   several episodes per file, one after another; an episode plays
                                          from "videos/<key>/from_timestamp" to ".../to_timestamp"

Files are filled episode by episode up to a size limit, ``chunks_size`` files to a chunk folder.
Torch-free: the data collection imports it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.atomic import write_atomic
from agents.data.video_io import PIX_FMT, concat_videos, decode_video

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000  # files per chunk folder
DATA_FILE_MB = 100  # a data file is closed once it would grow past this
VIDEO_FILE_MB = 200  # likewise a video file
INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
IMAGE_PREFIX = "observation.images."  # a camera's video key is IMAGE_PREFIX + its name
STATE_KEY = "observation.state"  # the robot's proprioception (robot_obs), LeRobot's name
ACTION_KEY = "action"
# columns every LeRobot frame has, besides the recorded features
INDEX_FEATURES = {
    "timestamp": "float32",  # seconds since the episode's start
    "frame_index": "int64",  # step within the episode
    "episode_index": "int64",
    "index": "int64",  # step within the dataset
    "task_index": "int64",  # row of meta/tasks.parquet
}
# LeRobot 0.6's quantile statistics (policies that normalise by quantiles read them)
QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}
STATS = ("min", "max", "mean", "std", "count", *QUANTILES)


@dataclass
class EpisodeData:
    """One recorded episode, ready to be written.

    ``columns`` holds the per-frame features (length, *shape), e.g. ``observation.state`` and
    ``action``; ``videos`` maps a video key to the episode's own mp4 (from ``encode_video``), whose
    frame count must equal the length; ``image_stats`` (optional) maps a video key to per-channel
    stats of its frames in [0, 1] (``image_stats``); ``extra`` holds more per-episode values (plain
    JSON; dicts and lists are stored as JSON text) for ``meta/episodes``.
    """

    task: str
    columns: dict[str, np.ndarray]
    videos: dict[str, Path] = field(default_factory=dict)
    image_stats: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return len(next(iter(self.columns.values())))


# --- statistics ---------------------------------------------------------------------------------
def array_stats(values: np.ndarray) -> dict[str, np.ndarray]:
    """min/max/mean/std/count and the ``QUANTILES`` over the first axis of (N, *shape) values."""
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    quantiles = np.quantile(values, list(QUANTILES.values()), axis=0)  # (len(QUANTILES), D)
    return {
        "min": values.min(0),
        "max": values.max(0),
        "mean": values.mean(0),
        "std": values.std(0),
        "count": np.array([len(values)]),
        **dict(zip(QUANTILES, quantiles, strict=True)),
    }


def image_stats(frames: np.ndarray, max_frames: int = 100) -> dict[str, np.ndarray]:
    """Per-channel stats of uint8 frames (N, H, W, 3) scaled to [0, 1], shaped (3, 1, 1) as LeRobot's;
    computed on at most ``max_frames`` evenly spaced frames, ``count`` is the number of frames.

    The same numbers as ``array_stats`` of the scaled pixels (linear-interpolated quantiles
    included), computed from each channel's 256-bin histogram instead of sorting every pixel: this
    was half of a tabletop collection's CPU time."""
    frames = np.asarray(frames)
    picked = frames[np.linspace(0, len(frames) - 1, min(len(frames), max_frames)).round().astype(int)]
    if picked.dtype != np.uint8:
        pixels = picked.reshape(-1, 3).astype(np.float64) / 255.0
        stats = {k: v.reshape(3, 1, 1) for k, v in array_stats(pixels).items() if k != "count"}
        return {**stats, "count": np.array([len(frames)])}
    flat = picked.reshape(-1, 3)
    n = len(flat)
    levels = np.arange(256, dtype=np.float64)
    channels: dict[str, list[float]] = {k: [] for k in ("min", "max", "mean", "std", *QUANTILES)}
    for c in range(3):
        counts = np.bincount(flat[:, c], minlength=256)
        cumulative = np.cumsum(counts)
        present = np.flatnonzero(counts)
        mean = float(counts @ levels) / n
        channels["min"].append(float(present[0]))
        channels["max"].append(float(present[-1]))
        channels["mean"].append(mean)
        channels["std"].append(float(np.sqrt(counts @ (levels - mean) ** 2 / n)))
        for name, q in QUANTILES.items():  # numpy's "linear": between sorted values floor(h) and floor(h)+1
            h = (n - 1) * q
            below = int(np.floor(h))
            lo = np.searchsorted(cumulative, below, side="right")
            hi = np.searchsorted(cumulative, min(below + 1, n - 1), side="right")
            channels[name].append(lo + (h - below) * (hi - lo))
    stats = {k: (np.array(v, dtype=np.float64) / 255.0).reshape(3, 1, 1) for k, v in channels.items()}
    return {**stats, "count": np.array([len(frames)])}


def aggregate_stats(parts: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Stats of the union of several sets from each set's stats (pooled mean and variance). Quantiles
    are the count-weighted mean of each set's, as LeRobot aggregates them, when every set has them."""
    counts = np.array([float(p["count"][0]) for p in parts])
    weights = (counts / counts.sum()).reshape(-1, *([1] * np.ndim(parts[0]["mean"])))
    means = np.stack([p["mean"] for p in parts])
    mean = (weights * means).sum(0)
    variance = (weights * (np.stack([p["std"] for p in parts]) ** 2 + (means - mean) ** 2)).sum(0)
    return {
        "min": np.min([p["min"] for p in parts], axis=0),
        "max": np.max([p["max"] for p in parts], axis=0),
        "mean": mean,
        "std": np.sqrt(variance),
        "count": np.array([int(counts.sum())]),
        **{q: (weights * np.stack([p[q] for p in parts])).sum(0) for q in QUANTILES if all(q in p for p in parts)},
    }


# --- writing ------------------------------------------------------------------------------------
def write_dataset(
    root: str | Path,
    episodes: Sequence[EpisodeData],
    features: dict[str, dict[str, Any]],
    fps: int,
    *,
    video_sizes: dict[str, tuple[int, int]] | None = None,
    robot_type: str | None = None,
    data_file_mb: float = DATA_FILE_MB,
    video_file_mb: float = VIDEO_FILE_MB,
) -> dict[str, Any]:
    """Write ``episodes`` under ``root`` in the LeRobot v3.0 layout; returns info.json's content.

    Args:
        features: per-frame feature -> {"dtype", "shape", "names"}, for the keys of each episode's
            ``columns`` (the index columns are added).
        video_sizes: video key -> (height, width) of its frames.
    """
    root = Path(root)
    if not episodes:
        raise ValueError("no episodes to write")
    task_index: dict[str, int] = {}
    for episode in episodes:
        task_index.setdefault(episode.task, len(task_index))
    # each episode's row of meta/episodes: where its frames and videos went, then the rest
    places: list[dict[str, Any]] = [{} for _ in episodes]
    _write_frames(root, episodes, features, fps, task_index, data_file_mb, places)
    video_keys = list(episodes[0].videos)
    for key in video_keys:
        _write_videos(root, episodes, key, fps, video_file_mb, places)
    per_episode_stats = _write_episodes(root, episodes, features, fps, task_index, places)
    _write_tasks(root, task_index)
    stats = {key: aggregate_stats([s[key] for s in per_episode_stats]) for key in per_episode_stats[0]}
    _write_json(root / STATS_PATH, {k: {n: v.tolist() for n, v in s.items()} for k, s in stats.items()})
    info = {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": robot_type,
        "total_episodes": len(episodes),
        "total_frames": sum(e.length for e in episodes),
        "total_tasks": len(task_index),
        "chunks_size": CHUNKS_SIZE,
        "data_files_size_in_mb": data_file_mb,
        "video_files_size_in_mb": video_file_mb,
        "fps": fps,
        "splits": {"train": f"0:{len(episodes)}"},
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH if video_keys else None,
        "features": _all_features(features, video_keys, video_sizes or {}, fps),
    }
    _write_json(root / INFO_PATH, info)
    return info


def _write_frames(
    root: Path,
    episodes: Sequence[EpisodeData],
    features: dict[str, dict[str, Any]],
    fps: int,
    task_index: dict[str, int],
    limit_mb: float,
    places: list[dict[str, Any]],
) -> None:
    """The frames, with their index columns: episodes fill data files in order, a file closed once
    it would pass the size limit; each episode's file and dataset rows go into ``places``."""
    import pyarrow as pa

    row_bytes = sum(np.dtype(spec["dtype"]).itemsize * int(np.prod(spec["shape"])) for spec in features.values())
    row_bytes += 8 * len(INDEX_FEATURES)
    start = 0
    for file_number, members in enumerate(_fill_files([e.length * row_bytes for e in episodes], limit_mb)):
        chunk, file = divmod(file_number, CHUNKS_SIZE)
        columns: dict[str, list[pa.Array]] = {}
        for e in members:
            episode = episodes[e]
            n = episode.length
            index_columns = {
                "timestamp": np.arange(n, dtype=np.float32) / np.float32(fps),
                "frame_index": np.arange(n, dtype=np.int64),
                "episode_index": np.full(n, e, dtype=np.int64),
                "index": np.arange(start, start + n, dtype=np.int64),
                "task_index": np.full(n, task_index[episode.task], dtype=np.int64),
            }
            for key, spec in features.items():
                values = np.asarray(episode.columns[key], dtype=spec["dtype"])
                if values.shape != (n, *spec["shape"]):
                    raise ValueError(f"episode {e}: {key} has shape {values.shape}, expected {(n, *spec['shape'])}")
                columns.setdefault(key, []).append(_arrow_column(values))
            for key, values in index_columns.items():
                columns.setdefault(key, []).append(pa.array(values))
            places[e].update(
                {
                    "data/chunk_index": chunk,
                    "data/file_index": file,
                    "dataset_from_index": start,
                    "dataset_to_index": start + n,
                }
            )
            start += n
        table = pa.table({k: pa.concat_arrays(v) for k, v in columns.items()})
        _write_parquet(table, root / DATA_PATH.format(chunk_index=chunk, file_index=file))


def _write_videos(
    root: Path, episodes: Sequence[EpisodeData], key: str, fps: int, limit_mb: float, places: list[dict[str, Any]]
) -> None:
    """Video ``key``: the episodes' own files joined in order, no re-encoding, into files of up to
    the size limit; each episode's file and time span go into ``places``."""
    sizes = [Path(e.videos[key]).stat().st_size for e in episodes]
    for file_number, members in enumerate(_fill_files(sizes, limit_mb)):
        chunk, file = divmod(file_number, CHUNKS_SIZE)
        path = root / VIDEO_PATH.format(video_key=key, chunk_index=chunk, file_index=file)
        path.parent.mkdir(parents=True, exist_ok=True)
        lengths = [episodes[e].length for e in members]
        starts = concat_videos(path, [episodes[e].videos[key] for e in members], lengths, fps)
        for e, begin, n in zip(members, starts, lengths, strict=True):
            places[e].update(
                {
                    f"videos/{key}/chunk_index": chunk,
                    f"videos/{key}/file_index": file,
                    f"videos/{key}/from_timestamp": begin,
                    f"videos/{key}/to_timestamp": begin + n / fps,
                }
            )


def _write_episodes(
    root: Path,
    episodes: Sequence[EpisodeData],
    features: dict[str, dict[str, Any]],
    fps: int,
    task_index: dict[str, int],
    places: list[dict[str, Any]],
) -> list[dict[str, dict[str, np.ndarray]]]:
    """meta/episodes: one row per episode, with where it is, its own stats and its extra values;
    returns the stats, which the dataset's are aggregated from."""
    import pyarrow as pa

    numeric = {**{k: spec["dtype"] for k, spec in features.items()}, **INDEX_FEATURES}
    per_episode_stats: list[dict[str, dict[str, np.ndarray]]] = []
    rows: list[dict[str, Any]] = []
    first = 0  # the episode's first row in the dataset
    for e, episode in enumerate(episodes):
        n = episode.length
        values = {
            **episode.columns,
            "timestamp": np.arange(n) / fps,
            "frame_index": np.arange(n),
            "episode_index": np.full(n, e),
            "index": np.arange(first, first + n),
            "task_index": np.full(n, task_index[episode.task]),
        }
        first += n
        stats = {key: array_stats(values[key]) for key in numeric}
        stats.update(episode.image_stats)
        per_episode_stats.append(stats)
        rows.append(
            {
                "episode_index": e,
                "tasks": [episode.task],
                "length": n,
                **places[e],
                "meta/episodes/chunk_index": 0,
                "meta/episodes/file_index": 0,
                **{f"stats/{key}/{name}": value.tolist() for key, s in stats.items() for name, value in s.items()},
                **{k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in episode.extra.items()},
            }
        )
    _write_parquet(pa.Table.from_pylist(rows), root / EPISODES_PATH.format(chunk_index=0, file_index=0))
    return per_episode_stats


def _write_tasks(root: Path, task_index: dict[str, int]) -> None:
    """meta/tasks.parquet: the task texts (the index, named "task") and their task_index."""
    import pandas as pd

    tasks = pd.DataFrame({"task_index": list(task_index.values())}, index=pd.Index(list(task_index), name="task"))
    path = root / TASKS_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    tasks.to_parquet(path)


def _all_features(
    features: dict[str, dict[str, Any]], video_keys: list[str], video_sizes: dict[str, tuple[int, int]], fps: int
) -> dict[str, dict[str, Any]]:
    """info.json's features: the videos, the recorded per-frame features, then the index columns."""
    all_features: dict[str, dict[str, Any]] = {}
    for key in video_keys:
        height, width = video_sizes[key]
        all_features[key] = {
            "dtype": "video",
            "shape": [height, width, 3],
            "names": ["height", "width", "channels"],
            "info": {
                "video.height": height,
                "video.width": width,
                "video.codec": "h264",
                "video.pix_fmt": PIX_FMT,
                "video.is_depth_map": False,
                "video.fps": fps,
                "video.channels": 3,
                "has_audio": False,
            },
        }
    for key, spec in features.items():
        all_features[key] = {"dtype": spec["dtype"], "shape": list(spec["shape"]), "names": spec.get("names")}
    for key, dtype in INDEX_FEATURES.items():
        all_features[key] = {"dtype": dtype, "shape": [1], "names": None}
    return all_features


def _fill_files(sizes: Sequence[int], limit_mb: float) -> list[list[int]]:
    """Group consecutive items into files: a file takes items until the next would pass the limit."""
    files: list[list[int]] = [[]]
    filled = 0
    for i, size in enumerate(sizes):
        if files[-1] and filled + size > limit_mb * 2**20:
            files.append([])
            filled = 0
        files[-1].append(i)
        filled += size
    return files


def _arrow_column(values: np.ndarray):
    """A (N,) array as a plain column, a (N, D) array as a fixed-size list column (as LeRobot's)."""
    import pyarrow as pa

    if values.ndim == 1:
        return pa.array(values)
    flat = pa.array(np.ascontiguousarray(values).reshape(-1))
    return pa.FixedSizeListArray.from_arrays(flat, int(np.prod(values.shape[1:])))


def _write_parquet(table, path: Path) -> None:
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(data, indent=4, ensure_ascii=False) + "\n")


# --- reading ------------------------------------------------------------------------------------
def read_info(root: str | Path) -> dict[str, Any]:
    """meta/info.json of a LeRobot v3 dataset; a clear error for anything else."""
    root = Path(root)
    path = root / INFO_PATH
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{root} is not a LeRobot dataset: {INFO_PATH} is missing") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc
    version = info.get("codebase_version")
    if version != CODEBASE_VERSION:
        raise ValueError(
            f"{root} is a LeRobot dataset of codebase version {version!r}; this reader reads {CODEBASE_VERSION!r} "
            "(convert it with lerobot's v2.1 -> v3.0 converter)"
        )
    missing = sorted({"fps", "features", "data_path", "total_episodes"} - set(info))
    if missing or not isinstance(info["features"], dict):
        raise ValueError(f"{path} lacks {missing or ['features']}: not a complete dataset; collect it again")
    fps = info["fps"]
    if not isinstance(fps, int | float) or not fps > 0:
        raise ValueError(f"{path}: fps must be a positive number, got {fps!r}")
    for key, spec in info["features"].items():
        # frames are found by timestamp x fps: an fps that is not the videos' own decodes wrong frames
        encoded = spec.get("info", {}).get("video.fps") if isinstance(spec, dict) else None
        if encoded is not None and encoded != fps:
            raise ValueError(
                f"{path}: fps is {fps} but video {key} was encoded at {encoded} fps; was info.json edited? "
                "Restore it, or collect the dataset again"
            )
    return info


def read_stats(root: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """meta/stats.json as arrays."""
    path = Path(root) / STATS_PATH
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{root} has no {STATS_PATH}: not a complete dataset; collect it again") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(stats, dict) for stats in data.values()):
        raise ValueError(f"{path}: expected {{feature: {{statistic: values}}}}, got something else")
    return {key: {name: np.asarray(value) for name, value in stats.items()} for key, stats in data.items()}


def read_tasks(root: str | Path) -> dict[int, str]:
    """task_index -> task text, from meta/tasks.parquet."""
    import pyarrow.parquet as pq

    table = pq.read_table(Path(root) / TASKS_PATH).to_pydict()
    return dict(zip(table["task_index"], table["task"], strict=True))


def read_episodes(root: str | Path, with_stats: bool = False) -> list[dict[str, Any]]:
    """Rows of meta/episodes (every file), ordered by episode_index; ``stats/...`` columns only if asked."""
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for path in sorted((Path(root) / "meta" / "episodes").glob("chunk-*/file-*.parquet")):
        names = pq.read_schema(path).names
        columns = names if with_stats else [n for n in names if not n.startswith("stats/")]
        rows += pq.read_table(path, columns=columns).to_pylist()
    if not rows:
        raise ValueError(f"{root} lists no episodes under meta/episodes/")
    return sorted(rows, key=lambda r: r["episode_index"])


def read_frames(root: str | Path, info: dict[str, Any], columns: Sequence[str]) -> dict[str, np.ndarray]:
    """The named per-frame columns of every data file, as arrays (N, *shape), in dataset order."""
    import pyarrow.parquet as pq

    paths = sorted((Path(root) / "data").glob("chunk-*/file-*.parquet"))
    if not paths:
        raise ValueError(f"{root} holds no data files under data/")
    tables = [pq.read_table(p, columns=list(columns)) for p in paths]
    out = {}
    for key in columns:
        chunks = [t.column(key).combine_chunks() for t in tables]
        shape = tuple(info["features"][key]["shape"])
        values = np.concatenate([_numpy_column(c) for c in chunks])
        out[key] = values.reshape(-1) if shape == (1,) else values.reshape(-1, *shape)
    order = np.argsort(out["index"], kind="stable") if "index" in out else slice(None)
    return {k: v[order] for k, v in out.items()}


def _numpy_column(array) -> np.ndarray:
    import pyarrow as pa

    if pa.types.is_fixed_size_list(array.type) or pa.types.is_list(array.type):
        return np.asarray(array.flatten().to_numpy(zero_copy_only=False))
    return array.to_numpy(zero_copy_only=False)


def video_path(root: str | Path, info: dict[str, Any], episode: dict[str, Any], key: str) -> Path:
    """The mp4 that holds ``episode``'s frames of video ``key``."""
    return Path(root) / info["video_path"].format(
        video_key=key,
        chunk_index=int(episode[f"videos/{key}/chunk_index"]),
        file_index=int(episode[f"videos/{key}/file_index"]),
    )


def video_keys(info: dict[str, Any]) -> list[str]:
    return [key for key, spec in info["features"].items() if spec["dtype"] == "video"]


def load_episode_videos(
    root: str | Path,
    info: dict[str, Any],
    episodes: Sequence[dict[str, Any]],
    key: str,
    size: tuple[int, int] | None = None,
) -> list[np.ndarray]:
    """Frames of video ``key`` for each of ``episodes`` (rows of ``read_episodes``), uint8
    (length, 3, H, W), resized to ``size`` (height, width) while decoding.

    Each video file is decoded once, front to back, for all the episodes it holds.
    """
    fps = info["fps"]
    by_file: dict[Path, list[int]] = {}
    for i, episode in enumerate(episodes):
        by_file.setdefault(video_path(root, info, episode, key), []).append(i)
    out: list[np.ndarray] = [np.zeros(0)] * len(episodes)
    for path, members in by_file.items():
        ranges = []
        for i in members:
            first = int(round(episodes[i][f"videos/{key}/from_timestamp"] * fps))
            ranges.append((first, first + int(episodes[i]["length"])))
        for i, frames in zip(members, decode_video(path, size, ranges), strict=True):
            out[i] = frames
    return out
