"""The speed gate: ``benchmarks/`` (pytest-benchmark) run for the candidate tree and for a reference
revision side by side on this machine, and each figure's time as a ratio candidate / reference.

The reference is a revision of this repository (the one ``benchmarks/baseline.json`` names, by
default) checked out with ``git worktree`` into a temporary folder and run by the same Python with
that folder first on its path, so it imports its own ``gr_bench``, ``envs`` and ``agents`` (each
side's pytest-benchmark JSON records where they came from, and this is checked). Both sides run
the candidate's ``benchmarks/``, so they time the same work, and take turns round by round
(``interleave.py``). Absolute speed never enters the verdict: a faster or slower CPU, or other
jobs on the machine, move both sides alike.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gr_bench.perf.interleave import Process, take_turns

BASELINE_FORMAT = "gr-bench-perf-baseline/2"
RUN_TIMEOUT = 1800  # seconds for all benchmark processes together
FETCH_TIMEOUT = 120  # seconds for fetching a reference revision a shallow clone lacks
ROUNDS = 7  # timed rounds of every figure but the evaluator's (a warm-up round comes first)
PACKAGES = ("gr_bench", "envs", "agents")


class ReferenceUnavailable(RuntimeError):
    """The reference revision cannot be checked out here (a shallow clone, a revision not fetched)."""


def candidate_root() -> Path:
    """The tree whose ``gr_bench`` is running: its ``benchmarks/`` are measured."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "benchmarks" / "conftest.py").exists():
        raise RuntimeError(
            f"gr-bench perf needs a source checkout with benchmarks/ (gr_bench runs from {root}); "
            "clone the repository and install it with pip install -e ."
        )
    return root


def read_baseline(path: str | Path) -> dict[str, Any]:
    try:
        baseline = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read the perf baseline {str(path)!r}: {exc}") from exc
    if not isinstance(baseline, dict) or baseline.get("format") != BASELINE_FORMAT:
        raise ValueError(
            f"{str(path)!r} is not a perf baseline ({BASELINE_FORMAT}); write one with `gr-bench perf baseline`"
        )
    return baseline


def write_baseline(path: str | Path, revision: str, root: Path) -> dict[str, Any]:
    sha = _git(root, "rev-parse", "--verify", f"{revision}^{{commit}}")
    baseline = {
        "format": BASELINE_FORMAT,
        "revision": sha,
        "subject": _git(root, "log", "-1", "--format=%s", sha),
        "note": "gr-bench perf check measures this revision beside the candidate on the same machine; "
        "refresh (gr-bench perf baseline) after an intended speed change",
    }
    Path(path).write_text(json.dumps(baseline, indent=1) + "\n", encoding="utf-8")
    return baseline


@contextmanager
def reference_tree(root: Path, revision: str) -> Iterator[tuple[Path, str]]:
    """``revision`` checked out in a temporary git worktree, and its commit; removed afterwards."""
    sha = _resolve(root, revision)
    folder = Path(tempfile.mkdtemp(prefix="gr-bench-reference-"))
    tree = folder / "tree"
    try:
        _git(root, "worktree", "add", "--detach", "--quiet", str(tree), sha)
        yield tree, sha
    finally:
        if tree.exists():
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)], capture_output=True)
        subprocess.run(["git", "-C", str(root), "worktree", "prune"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def _resolve(root: Path, revision: str) -> str:
    try:
        return _git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except RuntimeError:
        pass
    # a shallow clone lacks it: fetch just that commit if the remote serves it
    try:
        fetched = subprocess.run(
            ["git", "-C", str(root), "fetch", "--quiet", "--depth=1", "origin", revision],
            capture_output=True,
            text=True,
            timeout=FETCH_TIMEOUT,
        ).stderr
    except subprocess.TimeoutExpired:
        fetched = f"no answer in {FETCH_TIMEOUT} s"
    try:
        return _git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except RuntimeError:
        shallow = _git(root, "rev-parse", "--is-shallow-repository") == "true"
        raise ReferenceUnavailable(
            f"the reference revision {revision} is not in this clone{' (a shallow clone)' if shallow else ''} "
            f"and fetching it failed ({(fetched or '').strip() or 'no output'}); "
            "run `git fetch --unshallow`, or pass --reference REV with a revision this clone has"
        ) from None


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


@dataclass(frozen=True)
class Side:
    """One benchmark process: which Python, whose code (None: a peer's venv), pytest's arguments
    (the benchmarks, a selection, rounds)."""

    name: str
    python: str
    code: Path | None
    pytest_args: list[str]


def run_sides(sides: list[Side], out: Path, log=print) -> dict[str, dict[str, Any]]:
    """Run every side's benchmarks, taking turns; each side's pytest-benchmark JSON, as written to
    ``out/NAME.json`` (its pytest output in ``out/NAME.log``), with ``exit_code`` and ``failed``
    (the figures that failed or errored) added. Raises
    ``RuntimeError`` when a side with code of ours wrote none or imported the wrong code."""
    out = out.absolute()  # each side runs in its own folder
    out.mkdir(parents=True, exist_ok=True)
    processes = []
    for side in sides:
        json_path = out / f"{side.name}.json"
        json_path.unlink(missing_ok=True)
        env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
        if side.code is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(side.code), *filter(None, [os.environ.get("PYTHONPATH")])])
        command = [side.python, "-m", "pytest", "-q", "-rfE", f"--benchmark-json={json_path}", *side.pytest_args]
        # a side's own folder is its working directory: `python -m` puts it first on the path
        processes.append(Process(side.name, command, side.code or out, env, out / f"{side.name}.log"))
    log(f"perf: running {', '.join(s.name for s in sides)} side by side, taking turns (logs in {out})")
    codes = take_turns(processes, RUN_TIMEOUT)
    reports = {}
    for side in sides:
        path = out / f"{side.name}.json"
        if not path.exists() or path.stat().st_size == 0:  # pytest-benchmark opens it before anything ran
            tail = (out / f"{side.name}.log").read_text(encoding="utf-8", errors="replace")[-3000:]
            message = f"the {side.name} benchmarks wrote no results (pytest exit {codes[side.name]}):\n{tail}"
            if side.code is None:
                log(f"perf: {message}")
                continue
            raise RuntimeError(message)
        reports[side.name] = json.loads(path.read_text(encoding="utf-8"))
        reports[side.name]["exit_code"] = codes[side.name]
        # pytest's -rfE summary: "FAILED bench_x.py::test_y[param] - reason", "ERROR ..." likewise
        log_lines = (out / f"{side.name}.log").read_text(encoding="utf-8", errors="replace").splitlines()
        reports[side.name]["failed"] = [
            line.split()[1].rpartition("::")[2] for line in log_lines if line.startswith(("FAILED ", "ERROR "))
        ]
        if side.code is not None:
            _check_code_origin(side, reports[side.name])
    return reports


def _check_code_origin(side: Side, report: dict[str, Any]) -> None:
    code = report["machine_info"].get("code", {})
    for package in PACKAGES:
        origin = Path(code.get(package, "(not recorded)"))
        if origin != (side.code / package).resolve():
            raise RuntimeError(
                f"the {side.name} benchmarks imported {package} from {origin}, not from {side.code}: "
                "is gr-bench installed other than editable, or is PYTHONPATH overridden?"
            )


# --- ratios ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    """One figure's median time per unit of work on each side, and their ratio (candidate / other)."""

    name: str
    group: str
    unit: str
    candidate: float | None  # seconds per unit
    other: float | None
    status: str  # ok, REGRESSION, improvement, new (not gated), FAILED

    @property
    def ratio(self) -> float | None:
        return self.candidate / self.other if self.candidate and self.other else None


def per_unit(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each benchmark's median seconds per unit of work (``extra_info.calls`` units per round)."""
    return {
        b["name"]: {
            "group": b["group"],
            "unit": b["extra_info"]["unit"],
            "seconds": b["stats"]["median"] / b["extra_info"]["calls"],
            "pair": b["extra_info"].get("pair"),
        }
        for b in report["benchmarks"]
    }


def compare(candidate: dict[str, Any], reference: dict[str, Any], tolerance: float) -> list[Figure]:
    """Every figure the candidate measured or failed, against the reference's time. A figure whose
    test failed on the reference side after it was timed is not a reference (the reference revision
    lacks what it measures, e.g. a new environment found through the candidate's editable install):
    it is new, not gated."""
    if not 0 < tolerance < 10:
        raise ValueError(f"tolerance is a fraction (0.25: fail at 25% slower than the reference), got {tolerance}")
    broken_here, broken_there = set(candidate.get("failed", [])), set(reference.get("failed", []))
    ours = per_unit(candidate)
    theirs = {name: f for name, f in per_unit(reference).items() if name not in broken_there}
    figures = []
    for name, figure in ours.items():
        other = theirs.get(name)
        if name in broken_here:  # timed, then its test failed
            status = "FAILED"
        elif other is None:
            status = "new (not gated)"
        else:
            ratio = figure["seconds"] / other["seconds"]
            status = "REGRESSION" if ratio > 1 + tolerance else "improvement" if ratio < 1 / (1 + tolerance) else "ok"
        figures.append(
            Figure(name, figure["group"], figure["unit"], figure["seconds"], other and other["seconds"], status)
        )
    for name in sorted(set(theirs) - set(ours)):
        other = theirs[name]
        figures.append(Figure(name, other["group"], other["unit"], None, other["seconds"], "FAILED"))
    for name in sorted(broken_here - set(theirs) - set(ours)):  # failed on both sides
        figures.append(Figure(name, "", "", None, None, "FAILED"))
    return figures


def failed(figures: list[Figure]) -> list[Figure]:
    return [f for f in figures if f.status in ("REGRESSION", "FAILED")]


def format_check(figures: list[Figure], tolerance: float, reference: str) -> str:
    """The table a person reads in a CI log, then the verdict naming each figure that failed."""
    lines = [f"{'figure':34s} {'candidate':>12s} {'reference':>12s} {'ratio':>7s}  status"]
    for f in figures:
        lines.append(
            f"{f.name:34s} {_time(f.candidate):>12s} {_time(f.other):>12s} "
            f"{f'{f.ratio:.3f}' if f.ratio else '-':>7s}  {f.status}"
        )
    lines.append(
        f"(median CPU time per unit of work; ratio: candidate / reference {reference[:12]}, "
        f"measured in turns on this machine; fails above {1 + tolerance:.2f})"
    )
    for f in failed(figures):
        if f.status == "REGRESSION":
            lines.append(f"REGRESSION: {f.name} takes {f.ratio:.2f}x the reference's time per {f.unit[:-1]}")
        else:
            lines.append(f"FAILED: {f.name} failed or did not run in the candidate (see candidate.log)")
    gated = [f for f in figures if f.status in ("ok", "improvement", "REGRESSION", "FAILED")]
    lines.append(f"perf: {len(gated) - len(failed(figures))} passed, {len(failed(figures))} failed")
    return "\n".join(lines)


def format_run(report: dict[str, Any], peers: dict[str, dict[str, Any]] | None = None) -> str:
    """The candidate's figures as rates per CPU second, the lines its benchmarks derive from them
    (``benchmarks/derived.py``), and a peer beside ours."""
    ours = per_unit(report)
    lines = [f"{'figure':34s} {'per CPU second':>31s} {'each':>10s}"]
    for name, f in ours.items():
        lines.append(f"{name:34s} {1 / f['seconds']:10.4g} {f['unit']:20s} {_time(f['seconds']):>10s}")

    def seconds(name: str) -> float | None:
        return ours[name]["seconds"] if name in ours else None

    lines += _derived(seconds)
    for b in report["benchmarks"]:
        if "episodes_per_wall_minute" in b["extra_info"]:
            per_minute = sorted(b["extra_info"]["episodes_per_wall_minute"])
            lines.append(f"{b['name']}: {per_minute[len(per_minute) // 2]:.0f} episodes per wall-clock minute")
    for peer, theirs in (peers or {}).items():
        for name, f in per_unit(theirs).items():
            if f["pair"] in ours:
                ratio = f["seconds"] / ours[f["pair"]]["seconds"]
                rate = f"{1 / f['seconds']:.4g} {f['unit']} per CPU second"
                lines.append(f"{peer} {name}: {rate}; ours ({f['pair']}) is {ratio:.1f}x faster")
    return "\n".join(lines)


def _derived(seconds) -> list[str]:
    """``benchmarks/derived.py: derived_lines`` of the candidate tree, where it has one."""
    import importlib.util

    path = candidate_root() / "benchmarks" / "derived.py"
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location("gr_bench_benchmarks_derived", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.derived_lines(seconds)


def _time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1e3:.4g} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.4g} us"
