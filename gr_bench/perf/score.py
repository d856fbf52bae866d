"""The score gate: results files checked against a minimum success rate per suite.

A file is validated first (the results schema, and every aggregate recomputed from its episode
records), so a gate cannot be passed by editing a number. Unlike a leaderboard submission it may
be a subsample of a suite (``gr-bench eval --episodes N``), as a user's CI would run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def parse_thresholds(specs: list[str]) -> dict[str | None, float]:
    """``["0.6", "unseen=0.3"]`` -> ``{None: 0.6, "unseen": 0.3}`` (None: any other suite)."""
    thresholds: dict[str | None, float] = {}
    for spec in specs:
        suite, _, value = spec.rpartition("=")
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not 0 <= rate <= 1:
            raise ValueError(f"--min-success {spec!r}: give a rate in [0, 1], or SUITE=RATE, e.g. seen=0.6")
        thresholds[suite or None] = rate
    return thresholds


def read_results(path: str | Path) -> dict[str, Any]:
    """A results file, validated against the schema with its aggregates recomputed."""
    import jsonschema

    from gr_bench.leaderboard import _first_difference, read_submission
    from gr_bench.results import aggregate, validate

    results = read_submission(path)
    try:
        validate(results)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise ValueError(f"{path}: not a gr-bench results file: field {where}: {exc.message}") from exc
    mismatch = _first_difference(results["aggregates"], aggregate(results["episodes"]), "aggregates")
    if mismatch:
        raise ValueError(f"{path}: {mismatch} does not match the value recomputed from the episode records")
    return results


def check_scores(paths: list[str], thresholds: dict[str | None, float]) -> tuple[bool, list[str]]:
    """Whether every file meets its suite's minimum success rate, and one line per file.

    A file of a suite with no threshold (and no catch-all one) is listed as not gated, so that a
    glob over ``runs/`` may take in the quick start's smoke run; at least one file must be gated."""
    ok, lines, gated = True, [], 0
    for path in paths:
        results = read_results(path)
        suite = results["suite"]["name"]
        minimum = thresholds.get(suite, thresholds.get(None))
        overall = results["aggregates"]["overall"]
        low, high = overall["ci95"]
        success = (
            f"{results['agent']['name']} on {suite} success {overall['rate']:.3f} "
            f"({overall['successes']}/{overall['n']}, 95% CI {low:.3f}-{high:.3f})"
        )
        if minimum is None:
            lines.append(f"SKIP {path}: {success}; no --min-success for {suite}, not gated")
            continue
        gated += 1
        passed = overall["rate"] >= minimum
        ok &= passed
        lines.append(f"{'PASS' if passed else 'FAIL'} {path}: {success} {'>=' if passed else '<'} {minimum:.3f}")
    if not gated:
        suites = sorted({s for s in thresholds if s is not None})
        raise ValueError(
            f"none of the {len(paths)} results files is of a suite given a --min-success ({', '.join(suites)}); "
            "give --min-success SUITE=RATE for one of theirs, or a plain --min-success RATE for all"
        )
    return ok, lines
