"""Draw and pin the screened initial states of suites v3 (issue 16's counter-measure for
blind-solvable tasks, docs/blind_controls.md): every single-task episode of a flagged tabletop task
in the v3 `seen`, `unseen` and `ood-instruction` tracks gets the first seed (its own first) that
neither the no-op nor the task's mean demonstration motion (of all demonstrations, and of each
third of them) solves, and the scripted expert does. Tasks with an episode no seed could screen
are written as `beside_headline`: reported apart from the headline score.

Writes envs/tabletop/screened_seeds_v3.json and the motions screened against
(envs/tabletop/blind_motions_v3.npz: a hidden split's starts are screened against them,
``Suite.rescreened``, and a test re-screens a sample).

    python scripts/pin_screened_seeds.py [--data runs/reference/data/tabletop] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MOTIONS = REPO / "envs" / "tabletop" / "blind_motions_v3.npz"
FOLDS = ("all", "f0", "f1", "f2")  # every demonstration, and those with episode index mod 3 = 0, 1, 2


def _screen(job):
    import gymnasium as gym

    import envs  # noqa: F401
    from envs.blind_screen import screen_episodes

    task, episodes, motions, attempts = job
    screened, log = screen_episodes(
        episodes, [task], {task: motions}, lambda env_id: gym.make(env_id, cameras=()).unwrapped, attempts=attempts
    )
    return task, screened, log


def main() -> None:
    from agents.controls import load_mean_sequences
    from envs.tabletop.tracks import SCREENED_SEEDS, SCREENED_SUITES, unscreened_v3_episodes
    from gr_bench.blind_flags import load_flags

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="runs/reference/data/tabletop", help="the demonstrations (gr-bench collect)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--attempts", type=int, default=16)
    args = parser.parse_args()
    flags = load_flags()
    means = {}
    for fold in FOLDS:
        keep = None if fold == "all" else (lambda i, r=int(fold[-1]): i % 3 == r)
        means[fold] = load_mean_sequences(args.data, keep)[0]
    tasks = [t for t in flags["tasks"] if t in means["all"]]
    episodes = [
        e
        for suite in SCREENED_SUITES
        for e in unscreened_v3_episodes(suite)
        if len(e.tasks) == 1 and e.tasks[0] in tasks and e.instruction_category != "invalid"
    ]
    jobs = [(t, [e for e in episodes if e.tasks[0] == t], [means[f][t] for f in FOLDS], args.attempts) for t in tasks]
    with ProcessPoolExecutor(max(1, args.workers)) as pool:
        results = list(pool.map(_screen, jobs))
    seeds, beside, tried = {}, [], 0
    for task, screened, log in results:
        for episode, entry in zip([e for e in screened], log, strict=True):
            seeds[episode.episode_id] = episode.seed
            tried += len(entry["rejected"]) + entry["passed"]
        if any(not entry["passed"] for entry in log):
            beside.append(task)
    payload = {
        "flags": {"suite": flags["suite"], "version": flags["version"], "tasks": tasks},
        "screened_against": "no-op; mean demonstration motion of all demonstrations and of each third "
        f"(episode index mod 3) of {args.data}; scripted expert must succeed",
        "seeds": seeds,
        "beside_headline": beside,
        "summary": {
            "episodes": len(seeds),
            "seeds_tried": tried,
            "kept_own_seed": sum(1 for e in episodes if seeds[e.episode_id] == e.seed),
        },
    }
    SCREENED_SEEDS.write_text(json.dumps(payload, indent=1) + "\n")
    MOTIONS.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(MOTIONS, **{f"{t}/{f}": means[f][t] for t in tasks for f in FOLDS})
    print(json.dumps({k: payload[k] for k in ("beside_headline", "summary")}, indent=1))
    print(f"wrote {SCREENED_SEEDS} and {MOTIONS}")


if __name__ == "__main__":
    main()
