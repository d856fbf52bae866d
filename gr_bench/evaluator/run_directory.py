"""The run directory: its identity (``run.json``), the lock of the process writing to it, and the
durable log of finished records (``episodes.jsonl``) that a resumed run reads back."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agents.atomic import write_atomic
from gr_bench.suites import Suite

LOCK_PATH = ".lock"  # in a run directory: held (fcntl) by the process writing to it
SUITE_PATH = "suite.json"  # in a run directory: the episodes it runs, so a later run can reuse it


class RunMismatchError(ValueError):
    """A run directory holds a different suite, agent, config or checkpoint than the one asked for."""


class RunDirectoryError(ValueError):
    """A run directory that cannot be used: locked by another process, damaged, or not writable."""


def read_done(path: Path, repair: bool = True) -> dict[str, dict[str, Any]]:
    """Finished records of a run's log. The one damage a crash can leave, a last line without its
    newline, is dropped (and, with ``repair``, truncated away); any other damage is an error that
    names the line, and nothing is changed."""
    done: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return done
    data = path.read_bytes()
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline, else a line a crash cut short
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RunDirectoryError(
                f"{path}, line {number}: not a JSON episode record ({exc}); nothing was changed: fix or remove "
                "that line (or the file) and resume again"
            ) from exc
        if not isinstance(record, dict) or not isinstance(record.get("episode_id"), str):
            raise RunDirectoryError(
                f"{path}, line {number}: not an episode record (a JSON object with an episode_id); nothing was "
                "changed: fix or remove that line (or the file) and resume again"
            )
        done[record["episode_id"]] = record
    if tail and repair:
        with open(path, "r+b") as f:
            f.truncate(len(data) - len(tail))
    return done


def read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON object the evaluator wrote, or an error that names the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunDirectoryError(f"{path}: not a readable {what} ({exc}); restore it or choose another --out") from exc
    if not isinstance(data, dict):
        raise RunDirectoryError(f"{path}: a {what} is a JSON object, not {type(data).__name__}")
    return data


def checkpoint_of(agent_config: dict | None) -> str | None:
    """The content hash of the agent's checkpoint (``checkpoint`` in its config), if it has one."""
    if not agent_config or not agent_config.get("checkpoint"):
        return None
    from agents.train.checkpoint import checkpoint_sha256

    return checkpoint_sha256(agent_config["checkpoint"])


def privileged_inputs_of(agent_config: dict | None) -> list[str]:
    """What simulator state the agent's checkpoint was trained to read (its config's
    ``privileged_inputs``, e.g. GR-1's scene-state control): empty for an ordinary agent."""
    if not agent_config or not agent_config.get("checkpoint"):
        return []
    from agents.train.checkpoint import resolve_checkpoint

    try:
        saved = json.loads((resolve_checkpoint(agent_config["checkpoint"]) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [str(x) for x in saved.get("privileged_inputs", [])]


def make_run_directory(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise RunDirectoryError(f"--out {out}: a file is in the way (a run directory is a folder)") from exc
    except OSError as exc:
        raise RunDirectoryError(f"--out {out}: cannot create the run directory ({exc.strerror})") from exc
    if not out.is_dir():
        raise RunDirectoryError(f"--out {out}: not a directory")
    if not os.access(out, os.W_OK | os.X_OK):
        raise RunDirectoryError(f"--out {out}: not writable; choose another --out")


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold the run directory's lock for as long as this process writes to it; the lock goes with
    the process, also when it is killed."""
    with open(out / LOCK_PATH, "a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "?"
            raise RunDirectoryError(
                f"{out} is being written by another gr-bench process (pid {holder}); wait for it to finish, "
                "or choose another --out"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def check_run(
    out: Path, suite: Suite, agent_spec: str, agent_config: dict | None, checkpoint_sha256: str | None, resume: bool
) -> None:
    """Refuse a run directory that holds another run; write the identity of a new one."""
    meta_path = out / "run.json"
    meta = {
        "suite": suite.name,
        "suite_hash": suite.hash,
        "agent": agent_spec,
        "agent_config": agent_config or {},
        "checkpoint_sha256": checkpoint_sha256,
    }
    if meta_path.exists():
        existing = read_json(meta_path, "run description")
        for key in meta:
            if existing.get(key) == meta[key]:
                continue
            if key == "checkpoint_sha256":
                raise RunMismatchError(
                    f"cannot use {out}: its records come from a checkpoint with sha256 "
                    f"{existing.get(key) or '(not recorded)'}, but {agent_config['checkpoint']} now has sha256 "
                    f"{checkpoint_sha256} (retrained?); choose another --out"
                )
            raise RunMismatchError(
                f"cannot use {out}: it holds a run with {key}={existing.get(key)!r}, now {meta[key]!r}; "
                "choose another --out"
            )
        # a finished run of the same suite and agent is simply reported again
        if not resume and not (out / "results.json").exists():
            raise RunMismatchError(
                f"{out} holds an unfinished run; pass --resume to finish it, or choose another --out"
            )
        return
    write_atomic(meta_path, json.dumps(meta, indent=1))  # a kill mid-write leaves no half identity


def append_records(log: Path, records: list[dict[str, Any]], done: dict[str, dict[str, Any]]) -> None:
    """Append ``records`` to the run's log and count them as done once they are on disk (flushed
    and fsynced): a killed run then loses or repeats nothing, and ``read_done`` repairs the one
    damage a kill can leave, a last line cut short. Every writer of the log goes through here."""
    with open(log, "a", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            done[record["episode_id"]] = record
        f.flush()
        os.fsync(f.fileno())
