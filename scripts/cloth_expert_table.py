"""The scripted cloth expert's success per task, in the training garments and under each unseen axis.

Each row runs the family's expert (``--env``: the Panda's cloth table, ``envs.cloth.expert``, or
ByteMini's, ``envs.cloth_bytemini.expert``; its tasks only) on seeds 0..N-1 of one task, garment and
variation: the training garments (square, towel) with no variation; the held-out T-shirt; and the
square with one axis at a value drawn from its unseen range (per seed). Episodes are appended to
``--out``/episodes.jsonl as they finish (a killed run resumes), and the table is written to
``--out``/table-ROWS.md and printed.

    python scripts/cloth_expert_table.py --seeds 50 --out runs/cloth-expert
    python scripts/cloth_expert_table.py --seeds 50 --rows training --out runs/cloth-expert
    python scripts/cloth_expert_table.py --env GRBench/ClothByteMini-v0 --seeds 10 --rows training \
        --out runs/cloth-bytemini-expert
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
from tqdm import tqdm

import envs  # noqa: F401 - registers the families
from envs.cloth.variations import AXES, DRAWN_AXES

TASK_SCENES = {
    "flatten": ("square", "towel"),
    "fold_in_half": ("square", "towel"),
    "fold_diagonally": ("square",),
    "hang": ("square", "towel"),
}


def rows(which: str) -> list[dict]:
    """(task, scene, axis) rows: ``training``, ``heldout`` (the T-shirt), ``axes`` or ``all``."""
    out = []
    if which in ("training", "all"):
        out += [{"task": t, "scene": s, "axis": None} for t, scenes in TASK_SCENES.items() for s in scenes]
    if which in ("heldout", "all"):
        out += [{"task": t, "scene": "tshirt", "axis": None} for t in ("flatten", "fold_in_half")]
    if which in ("axes", "all"):
        for axis in DRAWN_AXES:  # the held-out shape has its own rows (heldout)
            tasks = ("flatten",) if axis == "crumple" else tuple(TASK_SCENES)
            out += [{"task": t, "scene": "square", "axis": axis} for t in tasks]
    return out


def key(row: dict, seed: int) -> str:
    return f"{row['task']}/{row['scene']}/{row['axis'] or '-'}/{seed}"


def run_episode(env, expert, row: dict, seed: int) -> dict:
    variations = {}
    if row["axis"] is not None:
        variations[row["axis"]] = AXES[row["axis"]].sample("unseen", np.random.default_rng(10_000 + seed))
    obs, info = env.reset(seed=seed, options={"task": row["task"], "scene": row["scene"], "variations": variations})
    expert.reset()
    start = time.perf_counter()
    steps = 0
    while steps < env.max_steps:
        obs, _, terminated, truncated, info = env.step(expert.act(obs))
        steps += 1
        if terminated or truncated:
            break
    return {
        "key": key(row, seed),
        **row,
        "seed": seed,
        "success": bool(info["success"]),
        "progress": info["progress"],
        "steps": steps,
        "seconds": round(time.perf_counter() - start, 2),
        "variations": info["variations"],
    }


def table(records: list[dict], row_list: list[dict]) -> str:
    from gr_bench.results import wilson

    lines = ["| task | garment | axis (unseen) | success | 95% CI | mean progress | n |", "|" + "---|" * 7]
    for row in row_list:
        mine = [r for r in records if (r["task"], r["scene"], r["axis"]) == (row["task"], row["scene"], row["axis"])]
        if not mine:
            continue
        k, n = sum(r["success"] for r in mine), len(mine)
        low, high = wilson(k, n)
        progress = np.mean([r["progress"] for r in mine])
        lines.append(
            f"| {row['task']} | {row['scene']} | {row['axis'] or '-'} | {k}/{n} ({k / n:.0%}) | "
            f"{low:.0%}-{high:.0%} | {progress:.2f} | {n} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="GRBench/Cloth-v0", help="a cloth family's environment id")
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--rows", choices=("training", "heldout", "axes", "all"), default="all")
    parser.add_argument("--out", type=Path, default=Path("runs/cloth-expert"))
    parser.add_argument(
        "--only", help="only these tasks, scenes or axes, comma-separated (e.g. stiffness,fold_in_half)"
    )
    parser.add_argument("--rerun", action="store_true", help="run the chosen rows again (the expert changed)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "episodes.jsonl"
    done = {}
    if log.exists():
        for line in log.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                done[record["key"]] = record
    from envs.family import family_named

    family = family_named(args.env)
    row_list = [r for r in rows(args.rows) if r["task"] in family.tasks()]
    if args.only:
        wanted_names = set(args.only.split(","))
        # a row is chosen when every kind named (task, scene, axis) has one of its values named
        kinds = {k: {r[k] for r in row_list} & wanted_names for k in ("task", "scene", "axis")}
        row_list = [r for r in row_list if all(not names or r[k] in names for k, names in kinds.items())]
    if args.rerun:
        for row in row_list:
            for s in range(args.seeds):
                done.pop(key(row, s), None)
    todo = [(r, s) for r in row_list for s in range(args.seeds) if key(r, s) not in done]
    env = gym.make(family.env_id, cameras=()).unwrapped
    expert = family.expert_class()(env)
    with log.open("a") as f, tqdm(todo, desc="cloth expert", unit="episode") as bar:
        for row, seed in bar:
            record = run_episode(env, expert, row, seed)
            f.write(json.dumps(record) + "\n")
            f.flush()
            done[record["key"]] = record
            bar.set_postfix(row=f"{row['task']}/{row['scene']}/{row['axis'] or '-'}")
    wanted = {key(r, s) for r in row_list for s in range(args.seeds)}
    text = table([done[k] for k in done if k in wanted], row_list)
    (args.out / f"table-{args.rows}.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
