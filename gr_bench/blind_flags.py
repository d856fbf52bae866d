"""Tasks a blind control solves: the committed flags of ``scripts/blind_controls.py``.

``leaderboards/blind_flags.json`` records, for the suite the controls ran on (name, version,
hash), every task that a control which never looks (``noop``, ``replay``: agents/controls.py)
solved in more than ``threshold`` of its episodes, with the counts. ``gr-bench ls suites`` shows
the flagged tasks of each suite; docs/blind_controls.md has the full table and the counter-measure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FLAGS_PATH = Path(__file__).resolve().parents[1] / "leaderboards" / "blind_flags.json"
THRESHOLD = 0.10  # a task is flagged where a blind control succeeds in more than this fraction


def load_flags(path: str | Path | None = None) -> dict[str, Any] | None:
    """The flags file, or None where there is none (or it cannot be read: the listing goes on)."""
    try:
        data = json.loads(Path(path or FLAGS_PATH).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("tasks"), dict) else None


def _counts(entry: dict[str, Any]) -> str:
    """``noop 2/6, replay 5/6``: the controls that flagged a task, with their counts."""
    return ", ".join(f"{c} {entry[c]['successes']}/{entry[c]['n']}" for c in entry.get("flagged_by", ()) if c in entry)


def describe(task: str, entry: dict[str, Any]) -> str:
    """``task (noop 2/6, replay 5/6)``."""
    counts = _counts(entry)
    return f"{task} ({counts})" if counts else task


def flagged_in(tasks, flags: dict[str, Any] | None = None) -> list[str]:
    """Descriptions of the flagged tasks among ``tasks`` (in the flags file's order)."""
    flags = flags if flags is not None else load_flags()
    if not flags:
        return []
    present = set(tasks)
    return [describe(task, entry) for task, entry in flags["tasks"].items() if task in present]


def listing_line(episodes, flags: dict[str, Any] | None = None) -> str | None:
    """One line for a suite listing: its blind-flagged tasks and where they were measured; for a
    suite that screened their starts (suites v3), the tasks it scores beside the headline. None
    where there is nothing to say."""
    episodes = list(episodes)
    flags = flags if flags is not None else load_flags()
    beside = sorted({e.tasks[0] for e in episodes if not e.headline})
    if beside:
        return (
            f"beside the headline (blind-solvable whatever the start): {', '.join(beside)}; the other tasks "
            "flagged blind-solvable start where no blind control solves them (docs/blind_controls.md)"
        )
    found = flagged_in((t for e in episodes for t in e.tasks), flags)
    if not found:
        return None
    where = f"{flags.get('suite')} v{flags.get('version')}"
    return f"blind-solvable tasks ({len(found)}, measured on {where}; docs/blind_controls.md): " + ", ".join(found)


def report_lines(per_task: dict[str, Any], flags: dict[str, Any] | None = None) -> list[str]:
    """Lines for a report: each flagged task the run has, the agent's success beside the blind
    controls' (where the agent is not far above them, its success there need not come from seeing)."""
    flags = flags if flags is not None else load_flags()
    if not flags:
        return []
    lines = []
    for task, entry in flags["tasks"].items():
        rate = per_task.get(task)
        if rate is None:
            continue
        blind = ", ".join(
            f"{c} {entry[c]['successes']}/{entry[c]['n']}" for c in entry.get("flagged_by", ()) if c in entry
        )
        lines.append(f"{task}: this agent {rate['successes']}/{rate['n']}, blind {blind}")
    if lines:
        where = f"{flags.get('suite')} v{flags.get('version')}"
        lines.insert(
            0, f"Blind-solvable tasks (a control that never looks solved them on {where}; docs/blind_controls.md):"
        )
    return lines
