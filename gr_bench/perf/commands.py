"""``gr-bench perf run|check|baseline`` and ``gr-bench check``. Building the parser imports
neither mujoco nor torch; the commands import what they measure."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_BASELINE = "benchmarks/baseline.json"
DEFAULT_OUT = "runs/perf"

PERF_EXAMPLES = """examples:
  gr-bench perf run                                      # every figure, this tree (under a minute)
  gr-bench perf run -k step --peer robosuite             # and robosuite's Lift beside ours (own venv)
  gr-bench perf check --tolerance 0.25                   # what CI runs (about two minutes)
  gr-bench perf check --reference origin/main -k act     # against another revision, some figures
  gr-bench perf baseline                                 # name HEAD as the reference in benchmarks/baseline.json
  pytest-benchmark compare runs/perf/reference.json runs/perf/candidate.json --group-by=name

Figures are pytest-benchmark benchmarks in benchmarks/ (`pytest benchmarks` runs them too), timed
in CPU seconds. check runs them for this tree and, from the same Python on the same machine, for
the reference revision (checked out in a temporary git worktree), taking turns round by round, and
fails when a figure's median time per unit of work exceeds the reference's by more than the
tolerance. Output: runs/perf/{candidate,reference}.json (pytest-benchmark's format), logs and
check.json.
"""

CHECK_EXAMPLES = """examples:
  gr-bench check runs/smoke-my-agent/results.json --min-success 0.6
  gr-bench check runs/*/results.json --min-success seen=0.6 --min-success unseen=0.3
  (files of suites given no --min-success are listed, not gated)
"""


def add_parser(subparsers) -> None:
    from gr_bench.perf.peer import PEERS

    perf = subparsers.add_parser(
        "perf",
        help="speed figures (pytest-benchmark), gated against a reference revision measured beside them",
        epilog=PERF_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    perf.add_argument("action", choices=["run", "check", "baseline"])
    perf.add_argument("-k", dest="select", metavar="EXPRESSION", help="only figures matching (pytest -k)")
    perf.add_argument("--rounds", type=int, help="timed rounds of each figure (default 7; the evaluator's: 3)")
    perf.add_argument("--out", default=DEFAULT_OUT, help=f"where the JSON and logs go (default {DEFAULT_OUT})")
    perf.add_argument("--baseline", default=DEFAULT_BASELINE, help="check: it names the reference; baseline: write it")
    perf.add_argument("--reference", help="check: compare with this revision instead of the baseline's")
    perf.add_argument("--revision", default="HEAD", help="baseline: the revision to name (default HEAD)")
    perf.add_argument("--tolerance", type=float, default=0.25, help="check: fail above (1 + this) x the reference")
    perf.add_argument("--retries", type=int, default=1, help="check: measure failing figures again this many times")
    perf.add_argument("--peer", choices=list(PEERS), help="run: also this peer's env step, in its own venv")
    perf.add_argument("--peer-venv", help="the peer's venv (default .peer-venv/PEER in the checkout; made if missing)")
    perf.set_defaults(func=_perf)

    check = subparsers.add_parser(
        "check",
        help="fail unless each results file meets a minimum success rate for its suite",
        epilog=CHECK_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("results", nargs="+", help="results.json files written by gr-bench eval")
    check.add_argument(
        "--min-success",
        action="append",
        required=True,
        metavar="[SUITE=]RATE",
        help="minimum overall success rate, for every suite or for one (repeatable)",
    )
    check.set_defaults(func=_check_scores)


def _perf(args: argparse.Namespace) -> int:
    try:
        return _perf_action(args)
    except RuntimeError as exc:  # no checkout, git failed, a benchmark process wrote nothing or imported the wrong code
        print(f"gr-bench: error: perf {args.action}: {exc}", file=sys.stderr)
        return 2


def _perf_action(args: argparse.Namespace) -> int:
    from gr_bench.perf.gate import ROUNDS, candidate_root, write_baseline

    root = candidate_root()
    if args.action == "baseline":
        baseline = write_baseline(args.baseline, args.revision, root)
        print(f"wrote {args.baseline}: the reference is {baseline['revision'][:12]} ({baseline['subject']})")
        return 0
    if args.rounds is not None and args.rounds < 1:
        raise ValueError(f"--rounds must be at least 1, got {args.rounds}")
    rounds = [f"--benchmark-min-rounds={args.rounds or ROUNDS}"]
    ours = [str(root / "benchmarks"), *rounds, *(["-k", args.select] if args.select else [])]
    if args.action == "run":
        return _run(args, root, ours, rounds)
    return _check(args, root, ours, rounds)


def _run(args: argparse.Namespace, root: Path, ours: list[str], rounds: list[str]) -> int:
    from gr_bench.perf.gate import Side, format_run, run_sides
    from gr_bench.perf.peer import PEERS, default_venv_dir, ensure_venv

    sides = [Side("candidate", sys.executable, root, ours)]
    if args.peer:
        peer = PEERS[args.peer]
        try:
            venv_dir = Path(args.peer_venv) if args.peer_venv else default_venv_dir(root, args.peer)
            python = ensure_venv(venv_dir.absolute(), peer.packages, log=_log)
            sides.append(Side(args.peer, str(python), None, [str(root / peer.benchmarks), *rounds]))
        except (OSError, RuntimeError) as exc:
            _log(f"perf: peer {args.peer} unavailable: {type(exc).__name__}: {exc}")
    out = Path(args.out)
    reports = run_sides(sides, out, log=_log)
    peers = {s.name: reports[s.name] for s in sides[1:] if s.name in reports}
    print(format_run(reports["candidate"], peers))
    print(f"pytest-benchmark's JSON: {', '.join(str(out / f'{name}.json') for name in reports)}")
    return 0 if reports["candidate"]["exit_code"] == 0 else 1


def _check(args: argparse.Namespace, root: Path, ours: list[str], rounds: list[str]) -> int:
    from gr_bench.perf.gate import (
        Side,
        compare,
        failed,
        format_check,
        read_baseline,
        reference_tree,
        run_sides,
    )

    out = Path(args.out)
    revision = args.reference or read_baseline(args.baseline)["revision"]
    with reference_tree(root, revision) as (tree, sha):
        sides = [Side("candidate", sys.executable, root, ours), Side("reference", sys.executable, tree, ours)]
        reports = run_sides(sides, out, log=_log)
        figures = compare(reports["candidate"], reports["reference"], args.tolerance)
        # a burst of load can slow one side's rounds; a real regression survives a second look
        for attempt in range(args.retries):
            slow = {f.name for f in failed(figures) if f.status == "REGRESSION"}
            if not slow:
                break
            _log(f"perf: measuring {', '.join(sorted(slow))} again ({attempt + 1} of {args.retries})")
            ids = [str(root / "benchmarks" / b["fullname"]) for b in reports["candidate"]["benchmarks"]]
            again = [i for i in ids if i.rpartition("::")[2] in slow] + rounds
            retry_sides = [Side(s.name, s.python, s.code, again) for s in sides]
            retry = run_sides(retry_sides, out / f"retry{attempt + 1}", _log)
            second = {f.name: f for f in compare(retry["candidate"], retry["reference"], args.tolerance)}
            figures = [second.get(f.name, f) if _better(second.get(f.name), f) else f for f in figures]
    print(format_check(figures, args.tolerance, sha))
    summary = {
        "reference": sha,
        "tolerance": args.tolerance,
        "figures": [{**vars(f), "ratio": f.ratio} for f in figures],
        "benchmarks": {name: str(out / f"{name}.json") for name in ("candidate", "reference")},
    }
    (out / "check.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return 1 if failed(figures) else 0


def _better(again, first) -> bool:
    return again is not None and again.ratio is not None and again.ratio < first.ratio


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _check_scores(args: argparse.Namespace) -> int:
    from gr_bench.perf.score import check_scores, parse_thresholds

    ok, lines = check_scores(args.results, parse_thresholds(args.min_success))
    print("\n".join(lines))
    return 0 if ok else 1
