"""Learning curve of a training run on a held-out validation slice, to choose a reference's steps.

Every checkpoint of the run (``--every`` apart) is evaluated on the same episodes: the ``seen``
suite's episodes with seeds drawn from the public secret below (``--split hidden`` with a secret
everybody knows), so the initial states are neither the released suite's, nor the maintainers'
hidden split's, nor any demonstration's; from v3 on, the starts of blind-solvable tasks are screened
as the release's were. The tabletop part is an evenly spaced subsample (every task appears); with
``--tidy-episodes`` some tidy episodes join it. Results go to ``RUN/curve/vV-TABLETOP+TIDY/step-N/``
(resumable: a finished step is not run again), ``RUN/curve-vV.csv`` and ``RUN/curve-vV.png`` (the
points measured on seen v2, before v3 existed: ``--suite-version 2``, ``RUN/curve.csv``).

    python scripts/reference/curve.py --run runs/reference/gr1-tiny/train --agent gr1 --episodes 68
    python scripts/reference/curve.py --run runs/reference/gr3-tiny/train --agent gr3 --episodes 68 \
        --tidy-episodes 8 --every 10000
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path

SLICE_VERSIONS = (2, 3)  # v2: the points measured before v3; v3: its rules, headline and screened starts
VALIDATION_SECRET = "gr-bench public validation split"  # public on purpose: this slice is for choosing, not ranking


def validation_suite(episodes: int, tidy_episodes: int, version: int = 3):
    from gr_bench.suites import Suite, get_suite

    # v3 scores by rules 3, keeps blind-solvable tasks beside the headline and screens their
    # starts; its slice is re-screened as the release was (``Suite.rescreened``), so it draws from
    # the released distribution. v2's points (the curves measured before) do not compare with v3's.
    seen = get_suite("seen", version).with_secret(VALIDATION_SECRET)
    chosen = seen.select(env="GRBench/Tabletop-v0", episodes=episodes).episodes
    if tidy_episodes:
        chosen += seen.select(env="GRBench/Tidy-v0", episodes=tidy_episodes).episodes
    return Suite(seen.name, seen.version, f"{seen.description} (validation slice)", chosen).rescreened()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a training run folder (holds checkpoints/)")
    parser.add_argument("--agent", required=True, help="gr1 or gr3")
    parser.add_argument("--episodes", type=int, default=68, help="tabletop episodes of the slice")
    parser.add_argument("--tidy-episodes", type=int, default=0, help="tidy episodes of the slice")
    parser.add_argument(
        "--every", type=int, default=5000, help="evaluate steps that are multiples (steps evaluated before stay)"
    )
    parser.add_argument(
        "--steps", type=lambda text: [int(v) for v in text.split(",")], help="only these steps, e.g. 20000,30000"
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--suite-version", type=int, choices=SLICE_VERSIONS, default=3, help="the seen version the slice is drawn from"
    )
    parser.add_argument("--blind", action="store_true", help="also evaluate the blind control of each checkpoint")
    args = parser.parse_args()
    os.environ.setdefault("MUJOCO_GL", "egl")
    from gr_bench.evaluator import evaluate

    run = Path(args.run)
    suite = validation_suite(args.episodes, args.tidy_episodes, args.suite_version)
    steps = sorted(
        int(p.name.split("-")[1])
        for p in (run / "checkpoints").glob("step-*")
        if not p.name.endswith(".tmp") and (p / "model.safetensors").is_file()
    )
    rows = []
    slice_name = f"{args.episodes}+{args.tidy_episodes}"  # another slice is another folder
    if args.suite_version != 2:  # (v2's folders were named before there was another version)
        slice_name = f"v{args.suite_version}-{slice_name}"
    for step in steps:
        evaluated = (run / "curve" / slice_name / f"step-{step}" / "results.json").is_file()
        wanted = step in args.steps if args.steps else not step % args.every
        if not wanted and not evaluated:  # a point evaluated before stays on the curve
            continue
        for blind in (False, True) if args.blind else (False,):
            config = {"checkpoint": str(run / "checkpoints" / f"step-{step:07d}")} | ({"blind": True} if blind else {})
            out = run / "curve" / slice_name / (f"step-{step}" + ("-blind" if blind else ""))
            done = (out / "results.json").is_file()
            results = (
                json.loads((out / "results.json").read_text())
                if done
                else evaluate(suite, args.agent, out, agent_config=config, workers=args.workers, resume=out.exists())
            )
            for env, agg in results["aggregates"]["per_env"].items():
                overall = agg["overall"]
                rows.append(
                    {
                        "step": step,
                        "blind": blind,
                        "env": env,
                        "n": overall["n"],
                        "successes": overall["successes"],
                        "rate": round(overall["rate"], 4),
                        "ci_low": round(overall["ci95"][0], 4),
                        "ci_high": round(overall["ci95"][1], 4),
                        "mean_progress": round(agg["mean_progress"], 4),
                    }
                )
                print(f"step {step}{' blind' if blind else ''} {env}: {overall['successes']}/{overall['n']}")
    if not rows:
        raise SystemExit(f"no checkpoint of {run} at a multiple of {args.every} steps yet")
    stem = "curve" if args.suite_version == 2 else f"curve-v{args.suite_version}"
    with open(run / f"{stem}.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, run / f"{stem}.png", f"{args.agent} ({run}) on the seen v{args.suite_version} validation slice")
    print(f"{run / f'{stem}.csv'}, {run / f'{stem}.png'}")


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4))
    for env in sorted({r["env"] for r in rows}):
        for blind in (False, True):
            sel = [r for r in rows if r["env"] == env and r["blind"] == blind]
            if not sel:
                continue
            x = [r["step"] for r in sel]
            label = env.split("/")[1] + (" blind" if blind else "") + f" (n={sel[0]['n']})"
            ax.errorbar(
                x,
                [r["rate"] for r in sel],
                yerr=[[r["rate"] - r["ci_low"] for r in sel], [r["ci_high"] - r["rate"] for r in sel]],
                marker="o",
                capsize=3,
                linestyle="--" if blind else "-",
                label=label,
            )
    ax.set_xlabel("training step")
    ax.set_ylabel("success (95% Wilson interval)")
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
