"""The ``gr-bench`` command line."""

from __future__ import annotations

import argparse
import os
import signal
import sys

PLAY_EXAMPLES = """examples:
  gr-bench play --task open_drawer --scene A --out demo.mp4
  gr-bench play --task stack_block --scene D --seed 3 --out stack.gif
"""


def _play(args: argparse.Namespace) -> int:
    os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering by default
    import gymnasium as gym
    from tqdm import tqdm

    import envs  # noqa: F401  (registers the environments)
    from envs.tabletop.expert import ScriptedExpert
    from gr_bench.video import side_by_side, write_video

    env = gym.make(
        "GRBench/Tabletop-v0",
        scene=args.scene,
        resolution={"static": args.size, "gripper": args.size * 84 // 200},
    )
    expert = ScriptedExpert(env)
    obs, info = env.reset(seed=args.seed, options={"task": args.task})
    expert.reset(obs["instruction"])
    print(f'task {info["task"]} in scene {info["scene"]}: "{info["instruction"]}"')
    print(f"initial state: {info['initial_state']}")
    frames = [side_by_side([obs["rgb_static"], obs["rgb_gripper"]])]
    steps = 0
    with tqdm(total=env.spec.max_episode_steps, desc="expert rollout", unit="step") as bar:
        while True:
            obs, _, terminated, truncated, info = env.step(expert.act(obs))
            frames.append(side_by_side([obs["rgb_static"], obs["rgb_gripper"]]))
            steps += 1
            bar.update(1)
            if terminated or truncated:
                break
    # hold the last frame for a second so the outcome can be seen
    frames += [frames[-1]] * env.metadata["render_fps"]
    path = write_video(args.out, frames, fps=env.metadata["render_fps"])
    env.close()
    outcome = "success" if info["success"] else "FAILED"
    print(f"{outcome} after {steps} steps; video: {path}")
    return 0 if info["success"] else 1


def _tasks(args: argparse.Namespace) -> int:
    from envs.tabletop.language import instructions
    from envs.tabletop.tasks import TASKS

    for name, task in TASKS.items():
        print(f'{name:28s} {task.category:18s} "{instructions(name)[0]}"')
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gr-bench", description="Benchmark for language-conditioned manipulation policies."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    play = sub.add_parser(
        "play",
        help="watch the scripted expert do a task (writes a video)",
        epilog=PLAY_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    play.add_argument("--task", default="open_drawer", help="task name (see `gr-bench tasks`)")
    play.add_argument("--scene", default="A", help="scene A, B, C or D")
    play.add_argument("--seed", type=int, default=0, help="seed of the initial state")
    play.add_argument("--size", type=int, default=200, help="static camera resolution in pixels")
    play.add_argument("--out", default="demo.mp4", help="video file, .mp4 or .gif")
    play.set_defaults(func=_play)
    tasks = sub.add_parser("tasks", help="list the tabletop tasks with a sample instruction")
    tasks.set_defaults(func=_tasks)
    return parser


def main(argv: list[str] | None = None) -> int:
    # `gr-bench tasks | head` should stop quietly when the pager closes the pipe
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as error:  # bad names and arguments: say what was wrong, no traceback
        print(f"gr-bench: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
