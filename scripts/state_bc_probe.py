"""How hard are the block tasks to clone, with perception taken away? (issue 13 item 4; docs/training.md
"What the references are short of").

A small MLP is trained by behaviour cloning on the scripted expert's privileged state (``robot_obs``,
``scene_obs`` and the task as a one-hot; no cameras, no language), then rolled out on fresh starts of the
same tasks. What it cannot do from exact block poses, no camera policy trained on the same demonstrations
will do. Three levers, one at a time: how many demonstrations per task (``--demos``), block positions
given relative to the gripper (``--relative``), and action chunks (``--chunk K --execute E``).

    python scripts/state_bc_probe.py --demos 100 --out runs/state-bc        # one arm, one line of JSON
    python scripts/state_bc_probe.py --demos 500 --relative --out runs/state-bc

The demonstrations (the four block tasks of the scene-state experiment, scenes A-C, the expert's
successful rollouts only) are generated once into OUT/demos-N.npz without cameras (about 3 CPU-min
for 500 per task); evaluation starts are seeded apart from them. Appends its result to OUT/results.jsonl.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

TASKS = ("lift_red_block_table", "lift_pink_block_table", "push_blue_block_left", "rotate_red_block_right")
SCENES = "ABC"
MAX_STEPS = 360  # a seen episode's budget
DEMO_SEED = 7_000_000  # demonstrations: DEMO_SEED + 1000 * task + attempt
EVAL_SEED = 100_000  # evaluation: EVAL_SEED + 97 * episode + task (never a demonstration's)
BLOCK_SLICES = [slice(6 + 6 * b, 9 + 6 * b) for b in range(3)]  # red, blue, pink positions in scene_obs


def generate(n: int, path: Path) -> None:
    """``n`` successful expert demonstrations per task, state and action only."""
    from tqdm import tqdm

    from envs.tabletop.env import TabletopEnv
    from envs.tabletop.expert import ScriptedExpert

    env = TabletopEnv(cameras=())
    expert = ScriptedExpert(env)
    columns: dict[str, list] = {"robot": [], "scene": [], "action": [], "task": [], "episode": []}
    episode = 0
    with tqdm(total=n * len(TASKS), desc="demonstrations", unit="episode") as bar:
        for ti, task in enumerate(TASKS):
            got = attempt = 0
            while got < n:
                attempt += 1
                obs, info = env.reset(
                    seed=DEMO_SEED + 1000 * ti + attempt, options={"task": task, "scene": SCENES[attempt % 3]}
                )
                expert.reset()
                rows = []
                for _ in range(MAX_STEPS):
                    action = expert.act(obs)
                    rows.append((obs["robot_obs"], obs["scene_obs"], action))
                    obs, _, _, _, info = env.step(action)
                    if info["success"]:
                        break
                if not info["success"]:
                    continue
                for robot, scene, action in rows:
                    for key, value in zip(columns, (robot, scene, action, ti, episode), strict=True):
                        columns[key].append(value)
                episode += 1
                got += 1
                bar.update()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **{k: np.asarray(v) for k, v in columns.items()})


def features(robot: np.ndarray, scene: np.ndarray, task, relative: bool) -> np.ndarray:
    parts = [robot, scene, np.eye(len(TASKS), dtype=np.float32)[task]]
    if relative:
        parts += [scene[..., s] - robot[..., :3] for s in BLOCK_SLICES]
    return np.concatenate(parts, -1).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--demos", type=int, default=100, help="demonstrations per task (default 100)")
    p.add_argument("--relative", action="store_true", help="also give each block's position relative to the TCP")
    p.add_argument("--chunk", type=int, default=1, help="actions predicted per call (default 1)")
    p.add_argument("--execute", type=int, default=1, help="of each chunk, actions executed before re-planning")
    p.add_argument("--steps", type=int, default=20_000, help="training steps of batch 256 (default 20000)")
    p.add_argument("--episodes", type=int, default=20, help="evaluation episodes per task (default 20)")
    p.add_argument("--pool", type=int, default=500, help="demonstrations generated per task; the first --demos train")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("runs/state-bc"))
    a = p.parse_args(argv)
    if not 1 <= a.execute <= a.chunk:
        sys.exit(f"error: --execute must be 1..--chunk ({a.chunk}), got {a.execute}")
    if not 1 <= a.demos <= a.pool:
        sys.exit(f"error: --demos must be 1..--pool ({a.pool}), got {a.demos}; raise --pool for more")

    import torch
    from torch import nn

    torch.set_num_threads(1)
    path = a.out / f"demos-{a.pool}.npz"
    if not path.exists():
        generate(a.pool, path)
    z = np.load(path)
    keep = np.zeros(len(z["episode"]), bool)
    for ti in range(len(TASKS)):
        keep |= np.isin(z["episode"], np.unique(z["episode"][z["task"] == ti])[: a.demos])
    robot, scene, action, task, episode = (z[k][keep] for k in ("robot", "scene", "action", "task", "episode"))
    x = features(robot, scene, task, a.relative)
    last = {e: i for i, e in enumerate(episode)}  # an episode's rows are contiguous
    end = np.array([last[e] for e in episode])
    y = np.concatenate([action[np.minimum(np.arange(len(action)) + k, end)] for k in range(a.chunk)], 1)
    mean, std = x.mean(0), x.std(0) + 1e-3

    torch.manual_seed(a.seed)
    xs, ys = torch.tensor((x - mean) / std), torch.tensor(y, dtype=torch.float32)
    net = nn.Sequential(
        nn.Linear(x.shape[1], 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
        nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 7 * a.chunk),
    )  # fmt: skip
    opt = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, a.steps)
    started = time.process_time()
    for _ in range(a.steps):
        batch = torch.randint(0, len(xs), (256,))
        loss = ((net(xs[batch]) - ys[batch]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()

    from envs.tabletop.env import TabletopEnv

    env = TabletopEnv(cameras=())
    solved = {}
    for ti, name in enumerate(TASKS):
        solved[name] = 0
        for i in range(a.episodes):
            obs, info = env.reset(seed=EVAL_SEED + 97 * i + ti, options={"task": name, "scene": SCENES[i % 3]})
            plan: list[np.ndarray] = []
            for _ in range(MAX_STEPS):
                if not plan:
                    f = features(obs["robot_obs"], obs["scene_obs"], ti, a.relative)
                    with torch.no_grad():
                        chunk = net(torch.tensor((f - mean) / std)[None])[0].numpy().reshape(a.chunk, 7)
                    plan = list(chunk[: a.execute])
                act = plan.pop(0).copy()
                act[6] = 1.0 if act[6] >= 0 else -1.0
                obs, _, _, _, info = env.step(act)
                if info["success"]:
                    break
            solved[name] += bool(info["success"])
    result = {
        "demos_per_task": a.demos, "relative": a.relative, "chunk": a.chunk, "execute": a.execute,
        "steps": a.steps, "seed": a.seed, "final_loss": round(float(loss), 5), "per_task": solved,
        "solved": sum(solved.values()), "episodes": a.episodes * len(TASKS),
        "cpu_s": round(time.process_time() - started, 1),
    }  # fmt: skip
    line = json.dumps(result)
    print(line)
    with open(a.out / "results.jsonl", "a", encoding="utf-8") as f:
        f.write(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
