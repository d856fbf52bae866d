"""Compare a perf report with a baseline: which figure moved, by how much, and is it a regression."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gr_bench.perf.measure import REPORT_FORMAT

REGRESSION = "REGRESSION"
IMPROVEMENT = "improvement"
FAILING = (REGRESSION, "calibration changed", "not measured")


@dataclass(frozen=True)
class Change:
    """One figure's ratio now against the baseline's; ``change`` is relative (-0.3: 30% slower)."""

    name: str
    status: str  # ok, REGRESSION, improvement, new, skipped, not run, not measured, calibration changed
    baseline: float | None = None
    ratio: float | None = None
    change: float | None = None
    note: str = ""


def read_report(path: str | Path) -> dict[str, Any]:
    """A report or baseline written by ``gr-bench perf run``; a clear error for anything else."""
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read perf report {str(path)!r}: {exc}") from exc
    if not isinstance(report, dict) or report.get("format") != REPORT_FORMAT:
        raise ValueError(f"{str(path)!r} is not a perf report ({REPORT_FORMAT}); write one with `gr-bench perf run`")
    return report


def compare(report: dict[str, Any], baseline: dict[str, Any], tolerance: float) -> list[Change]:
    """Every baseline figure the report was asked to measure, and every figure new in the report."""
    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance is a fraction between 0 and 1 (0.25: 25% slower fails), got {tolerance}")
    requested = set(report["settings"]["figures"])
    measured, skipped = report["figures"], report.get("skipped", {})
    changes = []
    for name, base in baseline["figures"].items():
        if name not in requested:
            changes.append(Change(name, "not run", base["ratio"]))
        elif name in skipped:
            changes.append(Change(name, "skipped", base["ratio"], note=skipped[name]))
        elif name not in measured:
            changes.append(Change(name, "not measured", base["ratio"], note="in the baseline but not in the report"))
        elif measured[name]["calibration"] != base["calibration"]:
            note = f"calibrated by {measured[name]['calibration']}, the baseline by {base['calibration']}"
            changes.append(Change(name, "calibration changed", base["ratio"], measured[name]["ratio"], note=note))
        else:
            ratio = measured[name]["ratio"]
            change = ratio / base["ratio"] - 1
            status = REGRESSION if change < -tolerance else IMPROVEMENT if change > tolerance else "ok"
            changes.append(Change(name, status, base["ratio"], ratio, change))
    for name, figure in measured.items():
        if name not in baseline["figures"]:
            changes.append(Change(name, "new", None, figure["ratio"], note="not in the baseline, so not gated"))
    return changes


def failures(changes: list[Change]) -> list[Change]:
    return [c for c in changes if c.status in FAILING]


def format_changes(changes: list[Change], report: dict[str, Any], tolerance: float) -> str:
    """A table a person reads in a CI log, then a verdict naming each figure that moved."""
    lines = [f"{'figure':26s} {'baseline':>10s} {'now':>10s} {'change':>8s}  status"]
    for c in changes:
        base = f"{c.baseline:10.4g}" if c.baseline is not None else f"{'-':>10s}"
        now = f"{c.ratio:10.4g}" if c.ratio is not None else f"{'-':>10s}"
        change = f"{c.change:+8.1%}" if c.change is not None else f"{'':>8s}"
        lines.append(f"{c.name:26s} {base} {now} {change}  {c.status}{'  (' + c.note + ')' if c.note else ''}")
    lines.append("(ratios: each figure's rate over its calibration's rate, measured alongside it in the same run)")
    bad = failures(changes)
    for c in bad:
        if c.status == REGRESSION:
            figure = report["figures"][c.name]
            lines.append(
                f"REGRESSION: {c.name} ({figure['description']}) is {-c.change:.0%} slower than the baseline "
                f"relative to {figure['calibration']} (tolerance {tolerance:.0%}); now {figure['rate']:.4g} "
                f"{figure['unit']}/s"
            )
        else:
            lines.append(f"FAILED: {c.name}: {c.status} ({c.note})")
    for c in changes:
        if c.status == IMPROVEMENT:
            lines.append(
                f"improvement: {c.name} is {c.change:.0%} faster than the baseline; "
                "refresh it with `gr-bench perf baseline` to keep the gate tight"
            )
    passed = sum(c.status in ("ok", IMPROVEMENT) for c in changes)
    others = len(changes) - passed - len(bad)  # skipped, not run, or new: not gated this time
    lines.append(f"perf: {passed} passed, {len(bad)} failed" + (f", {others} skipped" if others else ""))
    return "\n".join(lines)
