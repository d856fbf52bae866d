"""Success against training steps: evaluate every checkpoint of one or more training runs on a
suite (filtered to some tasks) and plot the curves with 95% confidence bands.

    python scripts/training_curve.py --run scratch=runs/gr1 --run pretrained=runs/gr1-ft \
        --suite seen --task open_drawer,close_drawer --out docs/gr1_curve.png

Evaluations are written under RUN/eval/SUITE/step-N and resumed, so a rerun only evaluates new
checkpoints. The numbers go to a CSV beside the picture.
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path


def evaluate_run(run: Path, suite_name: str, tasks: tuple[str, ...], workers: int, every: int) -> list[dict]:
    from gr_bench.evaluator import evaluate
    from gr_bench.suites import get_suite

    suite = get_suite(suite_name).select(task=tasks)
    rows = []
    checkpoints = sorted(p for p in (run / "checkpoints").glob("step-*") if (p / "model.safetensors").is_file())
    for index, checkpoint in enumerate(checkpoints):
        if index % every and index != len(checkpoints) - 1:
            continue
        step = int(checkpoint.name.split("-")[1])
        out = run / "eval" / suite_name / checkpoint.name
        results = evaluate(
            suite, "gr1", out, agent_config={"checkpoint": str(checkpoint)}, workers=workers, resume=out.exists()
        )
        overall = results["aggregates"]["overall"]
        row = {"step": step, "rate": overall["rate"], "lo": overall["ci95"][0], "hi": overall["ci95"][1]}
        row["n"] = overall["n"]
        for task, rate in results["aggregates"]["per_task"].items():
            row[task] = rate["rate"]
        rows.append(row)
        print(f"{run.name} {checkpoint.name}: {overall['successes']}/{overall['n']} = {overall['rate']:.3f}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="LABEL=RUN_DIR (repeatable)")
    parser.add_argument("--suite", default="seen")
    parser.add_argument("--task", required=True, help="comma-separated tasks")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--every", type=int, default=1, help="evaluate every k-th checkpoint (and the last)")
    parser.add_argument("--baseline", type=float, help="a horizontal line, e.g. the random agent's rate")
    parser.add_argument("--out", default="training_curve.png")
    args = parser.parse_args()
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    tasks = tuple(args.task.split(","))
    curves = {}
    for item in args.run:
        label, _, run = item.partition("=")
        curves[label] = evaluate_run(Path(run), args.suite, tasks, args.workers, args.every)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".csv"), "w", newline="", encoding="utf-8") as f:
        fields = ["run", "step", "n", "rate", "lo", "hi", *tasks]
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for label, rows in curves.items():
            for row in rows:
                writer.writerow({"run": label, **row})

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for label, rows in curves.items():
        steps = [r["step"] for r in rows]
        ax.plot(steps, [r["rate"] for r in rows], marker="o", label=label)
        ax.fill_between(steps, [r["lo"] for r in rows], [r["hi"] for r in rows], alpha=0.2)
    if args.baseline is not None:
        ax.axhline(args.baseline, color="grey", linestyle="--", label="random")
    ax.set_xlabel("training step")
    ax.set_ylabel(f"success on {args.suite} ({len(tasks)} tasks)")
    ax.set_ylim(-0.02, 1.02)  # keep a 0% baseline visible
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(", ".join(tasks), fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    print(f"wrote {out} and {out.with_suffix('.csv')}")


if __name__ == "__main__":
    main()
