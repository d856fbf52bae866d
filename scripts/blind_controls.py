"""Blind controls per task (issue 16 item 2): which tasks a control that never looks solves.

    python scripts/blind_controls.py                       # seen, newest version; the reference datasets
    python scripts/blind_controls.py --data tabletop=runs/reference/data/tabletop --data tidy=runs/reference/data/tidy

Runs on every episode of the suite: ``noop`` (the robot stays as it is) and ``replay`` (the task's
mean demonstration action sequence replayed open-loop, from each track's collected dataset; a track
without a dataset gets no replay). Writes, per task, the success of each control with its 95%
Wilson interval and a flag where any control succeeds in more than ``--threshold`` of the task's
episodes: ``docs/blind_controls.csv``, the table part of ``docs/blind_controls.md`` (between its
``<!-- table -->`` markers; the rest of the page is kept) and ``leaderboards/blind_flags.json``,
which ``gr-bench ls suites`` reads. The runs (``--out``) resume where they stopped.
Cheap: no rendering (both controls are privileged; see agents/controls.py), scripted actions.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gr_bench.blind_flags import FLAGS_PATH, THRESHOLD  # noqa: E402

DEFAULT_DATA = {"tabletop": "runs/reference/data/tabletop", "tidy": "runs/reference/data/tidy"}
CONTROLS = ("noop", "replay")
BEGIN, END = "<!-- table -->", "<!-- /table -->"
SCREEN_BEGIN, SCREEN_END = "<!-- screen -->", "<!-- /screen -->"
FOLDS = ("f0", "f1", "f2", "all")  # demonstrations by episode index mod 3, and all of them
SCREEN_FOLDS = ("f0", "f1")  # the screen's blind motions; f2 checks it on a motion it never saw
SCREEN_COLUMNS = ("noop", "replay_f0", "replay_f1", "replay_f2", "replay_all", "oracle")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default="seen")
    parser.add_argument("--suite-version", type=int, default=None)
    parser.add_argument(
        "--data",
        action="append",
        default=None,
        metavar="TRACK=PATH",
        help="a track's dataset for replay (repeatable); default: "
        + ", ".join(f"{k}={v}" for k, v in DEFAULT_DATA.items()),
    )
    parser.add_argument("--out", default="runs/blind_controls", help="the controls' run folders")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--docs", default="docs/blind_controls", help="writes DOCS.csv and the table of DOCS.md")
    parser.add_argument("--flags", default=str(FLAGS_PATH), help="the flags file gr-bench ls suites reads")
    parser.add_argument(
        "--screen",
        action="store_true",
        help="the counter-measure's before/after table for the flagged tasks (envs/blind_screen.py): "
        "screens with the mean motions of two folds of the demonstrations, checks with the third; "
        "writes DOCS_screen.csv and the screen table of DOCS.md",
    )
    parser.add_argument("--attempts", type=int, default=16, help="candidate seeds per screened episode")
    args = parser.parse_args(argv)
    if args.screen:
        return screen(args, argv)

    from gr_bench.evaluator import evaluate
    from gr_bench.suites import get_suite

    data = dict(DEFAULT_DATA)
    if args.data is not None:
        data = dict(item.split("=", 1) for item in args.data)
    suite = get_suite(args.suite, args.suite_version)
    out = Path(args.out) / f"{suite.name}-v{suite.version}"
    records: dict[str, list[dict]] = {control: [] for control in CONTROLS}
    for track in suite.tracks:
        part = suite.select(track=track)
        runs = [("noop", {})]
        if track in data:
            runs.append(("replay", {"data": str(Path(data[track]).resolve())}))
        else:
            print(f"track {track}: no dataset given, no replay control", file=sys.stderr)
        for control, config in runs:
            folder = out / f"{control}-{track}"
            results = evaluate(
                part,
                control,
                folder,
                agent_config=config,
                workers=args.workers,
                resume=(folder / "run.json").exists(),
                progress=True,
            )
            records[control] += results["episodes"]

    rows = per_task(records, args.threshold)
    meta = {
        "suite": suite.name,
        "version": suite.version,
        "hash": suite.hash,
        "threshold": args.threshold,
        "controls": {"noop": "agents.controls:NoOpAgent", "replay": "agents.controls:ReplayAgent"},
        "data": {track: str(path) for track, path in data.items() if track in suite.tracks},
        "command": "python scripts/blind_controls.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    write_outputs(rows, meta, Path(args.docs), Path(args.flags))
    flagged = [r for r in rows if r["flagged"]]
    print(f"{len(flagged)} of {len(rows)} tasks flagged: {', '.join(r['task'] for r in flagged) or 'none'}")
    return 0


def per_task(records: dict[str, list[dict]], threshold: float) -> list[dict]:
    """One row per task (in first-seen order): per control its successes, episodes, rate, Wilson
    interval; ``flagged`` where any control's rate is above ``threshold``."""
    from gr_bench.results import wilson

    tasks: dict[str, dict] = {}
    for control, episodes in records.items():
        for record in episodes:
            task = record["tasks"][0] if len(record["tasks"]) == 1 else " > ".join(record["tasks"])
            row = tasks.setdefault(task, {"task": task, "env_id": record["env_id"]})
            cell = row.setdefault(control, {"successes": 0, "n": 0})
            cell["successes"] += bool(record["success"])
            cell["n"] += 1
    for row in tasks.values():
        row["flagged_by"] = []
        for control in CONTROLS:
            cell = row.get(control)
            if cell is None:
                continue
            cell["rate"] = cell["successes"] / cell["n"]
            cell["ci95"] = list(wilson(cell["successes"], cell["n"]))
            if cell["rate"] > threshold:
                row["flagged_by"].append(control)
        row["flagged"] = bool(row["flagged_by"])
    return list(tasks.values())


def _cell(cell: dict | None) -> str:
    if cell is None:
        return "n/a"
    low, high = cell["ci95"]
    return f"{cell['successes']}/{cell['n']} ({100 * cell['rate']:.0f}%) [{100 * low:.0f}, {100 * high:.0f}]"


def write_outputs(rows: list[dict], meta: dict, docs: Path, flags: Path) -> None:
    from agents.atomic import write_atomic

    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    header = ["task", "env_id"]
    for control in CONTROLS:
        header += [f"{control}_{column}" for column in ("successes", "n", "rate", "ci95_low", "ci95_high")]
    writer.writerow([*header, "flagged", "flagged_by"])
    for row in rows:
        line = [row["task"], row["env_id"]]
        for control in CONTROLS:
            cell = row.get(control)
            if cell is None:
                line += [""] * 5
                continue
            low, high = cell["ci95"]
            line += [cell["successes"], cell["n"], f"{cell['rate']:.4f}", f"{low:.4f}", f"{high:.4f}"]
        writer.writerow([*line, int(row["flagged"]), "+".join(row["flagged_by"])])
    docs.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(docs.with_suffix(".csv"), text.getvalue())

    lines = [
        BEGIN,
        f"Suite `{meta['suite']}` v{meta['version']} (hash `{meta['hash'][:16]}`), every episode; "
        f"flag: a control succeeds in more than {100 * meta['threshold']:.0f}% of the task's episodes. "
        f"Success k/n (rate) [95% Wilson interval, %]. Command: `{meta['command'].strip()}`.",
        "",
        "| task | environment | noop | replay | flag |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        flag = "**flagged** (" + ", ".join(row["flagged_by"]) + ")" if row["flagged"] else ""
        cells = " | ".join(_cell(row.get(c)) for c in CONTROLS)
        lines.append(f"| {row['task']} | {row['env_id']} | {cells} | {flag} |")
    flagged = [r["task"] for r in rows if r["flagged"]]
    lines += ["", f"Flagged: {len(flagged)} of {len(rows)} tasks ({', '.join(flagged) or 'none'}).", END]
    table = "\n".join(lines)
    md = docs.with_suffix(".md")
    page = md.read_text(encoding="utf-8") if md.exists() else f"# Blind controls per task\n\n{BEGIN}\n{END}\n"
    if BEGIN not in page or END not in page:
        page = page.rstrip("\n") + f"\n\n{BEGIN}\n{END}\n"
    before, _, rest = page.partition(BEGIN)
    _, _, after = rest.partition(END)
    write_atomic(md, before + table + after)

    payload = {
        **meta,
        "tasks": {
            row["task"]: {
                "flagged_by": row["flagged_by"],
                **{c: {k: row[c][k] for k in ("successes", "n")} for c in CONTROLS if c in row},
            }
            for row in rows
            if row["flagged"]
        },
    }
    flags.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(flags, json.dumps(payload, indent=1, sort_keys=False) + "\n")


def _screen_task(job: tuple) -> tuple[str, list, list, dict]:
    """One flagged task: its episodes screened, and every check on them before and after."""
    import gymnasium as gym

    import envs  # noqa: F401
    from envs.blind_screen import expert_solves, open_loop_solves, screen_episodes

    task, episodes, sequences, attempts = job
    env_cache: dict = {}

    def make_env(env_id):
        return gym.make(env_id, cameras=()).unwrapped

    screen_with = [sequences[fold] for fold in SCREEN_FOLDS]
    screened, log = screen_episodes(episodes, [task], {task: screen_with}, make_env, attempts=attempts)
    checks = {}
    for when, eps in (("before", episodes), ("after", screened)):
        for e in eps:
            env = env_cache.get(e.env_id) or env_cache.setdefault(e.env_id, make_env(e.env_id))
            row = checks.setdefault(when, dict.fromkeys(SCREEN_COLUMNS, 0))
            row["noop"] += open_loop_solves(env, e)
            for fold in FOLDS:
                row[f"replay_{fold}"] += open_loop_solves(env, e, sequences[fold])
            row["oracle"] += expert_solves(env, e)
    return task, screened, log, checks


def screen(args, argv) -> int:
    """Before/after table of the counter-measure on the flagged tasks of the flags file."""
    from concurrent.futures import ProcessPoolExecutor

    from agents.controls import load_mean_sequences
    from gr_bench.blind_flags import load_flags
    from gr_bench.results import wilson
    from gr_bench.suites import get_suite

    flags = load_flags(args.flags)
    if not flags or not flags["tasks"]:
        print(f"no flagged tasks in {args.flags}: run the controls first", file=sys.stderr)
        return 2
    suite = get_suite(flags["suite"], flags["version"])
    data = dict(flags.get("data", {}))
    if args.data is not None:
        data = dict(item.split("=", 1) for item in args.data)
    halves = {}
    for path in data.values():
        for fold in FOLDS:
            keep = None if fold == "all" else (lambda i, r=int(fold[-1]): i % 3 == r)
            halves.setdefault(fold, {}).update(load_mean_sequences(path, keep)[0])
    jobs = []
    for task in flags["tasks"]:
        episodes = [e for e in suite.episodes if e.tasks == (task,)]
        if episodes and task in halves["all"]:
            jobs.append((task, episodes, {h: halves[h][task] for h in halves}, args.attempts))
    with ProcessPoolExecutor(max(1, args.workers)) as pool:
        results = list(pool.map(_screen_task, jobs))

    columns = SCREEN_COLUMNS
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    checked = [f"{c}_{w}" for c in columns for w in ("before", "after")]
    writer.writerow(["task", "n", *checked, "seeds_tried", "unscreened"])
    lines = [
        SCREEN_BEGIN,
        f"Flagged tasks of `{suite.name}` v{suite.version}, each episode screened "
        f"(`envs/blind_screen.py: screen_episodes`, up to {args.attempts} seeds) against the no-op and the mean "
        "motions of two folds of the demonstrations (episode index mod 3 = 0, 1); checked, before -> after, with "
        "the no-op, each fold's mean (`replay f2`: a blind motion the screen never saw), the mean of all "
        "demonstrations, and the scripted expert (`oracle`). Successes of n; the pooled row gives 95% Wilson "
        "intervals. "
        f"Command: `python scripts/blind_controls.py --screen {' '.join(argv or [])}`.",
        "",
        "| task | n | noop | replay f0 | replay f1 | replay f2 (held out) | replay all | oracle | seeds tried |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    totals = {w: dict.fromkeys(columns, 0) for w in ("before", "after")}
    total_n = 0
    for task, screened, log, checks in results:
        n = len(screened)
        total_n += n
        tried = sum(1 + len(entry["rejected"]) for entry in log)
        unscreened = sum(not entry["passed"] for entry in log)
        for w in totals:
            for c in columns:
                totals[w][c] += checks[w][c]
        cells = " | ".join(f"{checks['before'][c]} -> {checks['after'][c]}" for c in columns)
        note = f" ({unscreened} unscreened)" if unscreened else ""
        lines.append(f"| {task} | {n} | {cells} | {tried}{note} |")
        writer.writerow([task, n, *(checks[w][c] for c in columns for w in ("before", "after")), tried, unscreened])

    def pooled(k):
        low, high = wilson(k, total_n)
        return f"{k}/{total_n} [{100 * low:.0f}, {100 * high:.0f}]"

    cells = " | ".join(f"{pooled(totals['before'][c])} -> {pooled(totals['after'][c])}" for c in columns)
    lines += [f"| **all** | {total_n} | {cells} | |", "", SCREEN_END]
    from agents.atomic import write_atomic

    docs = Path(args.docs)
    write_atomic(docs.with_name(docs.name + "_screen.csv"), text.getvalue())
    md = docs.with_suffix(".md")
    page = md.read_text(encoding="utf-8")
    if SCREEN_BEGIN not in page:
        page = page.rstrip("\n") + f"\n\n{SCREEN_BEGIN}\n{SCREEN_END}\n"
    before, _, rest = page.partition(SCREEN_BEGIN)
    _, _, after = rest.partition(SCREEN_END)
    write_atomic(md, before + "\n".join(lines) + after)
    print("\n".join(lines[3:-1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
