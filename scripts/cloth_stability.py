"""How often the cloth simulation diverges under random actions (issue 17: target < 0.5%).

Each episode draws a task, a garment (the held-out T-shirt too) and, for half of them, one axis at
an unseen value, then applies uniformly random actions (every component in [-1, 1], gripper
included) for ``--steps`` control steps, physics only. An episode that raises
``envs.errors.PhysicsError`` (non-finite state or a velocity over 1000) or any other exception is
counted, with its seed and the error, and the next episode goes on: one bad episode is isolated,
as the evaluator isolates it. Episodes are appended to ``--out``/episodes.jsonl (a killed run
resumes); the summary is printed and written to ``--out``/summary.md.

    python scripts/cloth_stability.py --episodes 1000 --steps 100 --out runs/cloth-stability
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from envs.cloth.env import GARMENTS, ClothEnv
from envs.cloth.tasks import TASKS
from envs.cloth.variations import AXES, DRAWN_AXES
from envs.errors import PhysicsError


def run_episode(env: ClothEnv, seed: int, steps: int) -> dict:
    rng = np.random.default_rng(seed)
    scene = str(rng.choice(list(GARMENTS)))
    tasks = [t for t, task in TASKS.items() if task.feasible(GARMENTS[scene])]
    task = str(rng.choice(tasks))
    variations = {}
    if rng.random() < 0.5:
        axis = str(rng.choice(list(DRAWN_AXES)))  # the T-shirt is drawn as a garment above
        variations[axis] = AXES[axis].sample("unseen", rng)
    record = {"seed": seed, "scene": scene, "task": task, "variations": variations, "error": None, "steps": 0}
    start = time.perf_counter()
    try:
        env.reset(seed=seed, options={"task": task, "scene": scene, "variations": variations})
        for step in range(steps):
            env.step(rng.uniform(-1.0, 1.0, 7))
            record["steps"] = step + 1
        record["max_speed"] = float(np.abs(env.sim.data.qvel).max())
    except PhysicsError as error:
        record["error"] = f"PhysicsError: {error}"
    except Exception as error:  # noqa: BLE001 - counted and reported, the run goes on
        record["error"] = f"{type(error).__name__}: {error}"
    record["seconds"] = round(time.perf_counter() - start, 2)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("runs/cloth-stability"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "episodes.jsonl"
    done = {}
    if log.exists():
        for line in log.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                done[record["seed"]] = record
    env = ClothEnv(cameras=())
    todo = [seed for seed in range(args.episodes) if seed not in done]
    with log.open("a") as f, tqdm(todo, desc="cloth stability", unit="episode") as bar:
        for seed in bar:
            record = run_episode(env, seed, args.steps)
            if record["error"] is not None:  # a broken env is not reused
                env.close()
                env = ClothEnv(cameras=())
            f.write(json.dumps(record) + "\n")
            f.flush()
            done[seed] = record
            bar.set_postfix(errors=sum(r["error"] is not None for r in done.values()))
    records = [done[s] for s in range(args.episodes)]
    failed = [r for r in records if r["error"] is not None]
    lines = [
        f"{len(failed)} of {len(records)} random-action episodes ({args.steps} steps each) diverged or raised "
        f"({100 * len(failed) / len(records):.2f}%; target < 0.5%).",
        f"Largest joint speed at an episode's end: {max(r.get('max_speed', 0.0) for r in records):.2f}.",
    ]
    lines += [f"- seed {r['seed']}: {r['task']} on {r['scene']} {r['variations']}: {r['error']}" for r in failed]
    text = "\n".join(lines)
    (args.out / "summary.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
