"""Parity of the tabletop's PyBullet twin with the MuJoCo tabletop (docs/tabletop_bullet.md).

    python scripts/bullet_parity.py --seeds 10 --picture docs/tabletop_bullet.png

1. Pictures: the MuJoCo episode's first state copied into the twin, both cameras rendered by both
   simulators; the mean absolute pixel difference (0-255) per camera, and a side-by-side picture.
2. Arm: the same joint targets in both simulators for 1 s (30 control steps); TCP distance after it
   and the largest joint error on the way.
3. Blocks: the MuJoCo expert's episode replayed open-loop in the twin from the same state, as the
   servos' targets it produced (joints and gripper, step by step): where the blocks end up in each
   simulator, and whether the twin's oracle also says success. Only the physics differs.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")

BLOCK_TASKS = ("push_red_block_left", "lift_blue_block_table", "rotate_pink_block_right", "stack_block", "open_drawer")


def copy_state(src, dst) -> None:
    """The MuJoCo env's physical state and lights into the twin's mirror (pushed before it steps)."""
    dst.sim.data.qpos[:] = src.sim.data.qpos
    dst.sim.data.qvel[:] = 0.0
    dst.sim.data.ctrl[:] = src.sim.data.ctrl
    dst.sim.led, dst.sim.lightbulb = src.sim.led, src.sim.lightbulb
    dst.sim.forward()


def main() -> int:
    import envs  # noqa: F401
    from envs.robots.panda import REST_POSTURE
    from envs.tabletop.env import TabletopEnv
    from envs.tabletop.expert import ScriptedExpert
    from envs.tabletop_bullet.env import TabletopBulletEnv

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--picture", help="write the side-by-side picture here (PNG)")
    args = parser.parse_args()

    mj, twin = TabletopEnv(), TabletopBulletEnv()
    # 1. pictures
    diffs = {"static": [], "gripper": []}
    rows = []
    for seed in range(args.seeds):
        obs, _ = mj.reset(seed=seed, options={"task": "open_drawer", "scene": "ABCD"[seed % 4]})
        twin.reset(seed=seed, options={"task": "open_drawer", "scene": "ABCD"[seed % 4]})
        copy_state(mj, twin)
        twin.sim.sync_visuals()
        for cam in diffs:
            theirs = twin._render_camera(cam)
            diffs[cam].append(np.abs(obs[f"rgb_{cam}"].astype(int) - theirs.astype(int)).mean())
            if seed < 2 and cam == "static":
                rows.append(np.concatenate([obs["rgb_static"], theirs, _diff(obs["rgb_static"], theirs)], 1))
    print("## Pictures: mean absolute pixel difference (0-255), same state, both simulators' renderers")
    for cam, values in diffs.items():
        spread = f"min {np.min(values):.1f}, max {np.max(values):.1f}"
        print(f"- {cam}: {np.mean(values):.1f} ({spread}) over {len(values)} states")
    if args.picture:
        from PIL import Image

        Image.fromarray(np.concatenate(rows, 0).astype(np.uint8)).save(args.picture)
        print(f"picture: {args.picture} (rows: two states; columns: MuJoCo, PyBullet, difference x4)")

    # 2. the arm
    print("\n## Arm: the same joint targets for 30 control steps (1 s)")
    rng = np.random.default_rng(0)
    tcp_gaps, worst = [], []
    for _ in range(args.seeds):
        target = REST_POSTURE + rng.uniform(-0.3, 0.3, 7)
        tcps, errors = [], []
        for env in (mj, twin):
            sim = env.sim
            sim.arm.place(sim.data, REST_POSTURE, gripper_open=True)
            sim.forward()
            sim.arm.set_joint_targets(sim.data, target)
            largest = 0.0
            for _ in range(30):
                sim.step()
                largest = max(largest, float(np.abs(sim.arm.joint_positions(sim.data) - target).max()))
            tcps.append(sim.arm.tcp_pose(sim.data)[0])
            errors.append(largest)
        tcp_gaps.append(np.linalg.norm(tcps[0] - tcps[1]))
        worst.append(errors)
    worst = np.array(worst)
    print(f"- TCP distance after 1 s: mean {np.mean(tcp_gaps) * 1e3:.3f} mm, max {np.max(tcp_gaps) * 1e3:.3f} mm")
    mean_mj, mean_twin = worst[:, 0].mean(), worst[:, 1].mean()
    print(f"- largest joint error on the way: MuJoCo {mean_mj:.3f} rad, PyBullet {mean_twin:.3f} rad")

    # 3. blocks
    print("\n## Blocks: the MuJoCo expert's servo targets replayed open-loop in the twin from the same state")
    print("| task | MuJoCo success | twin success (replay) | block end gap, mm (median, max) |")
    print("|---|---|---|---|")
    for task in BLOCK_TASKS:
        ok_mj = ok_twin = 0
        gaps = []
        for seed in range(args.seeds):
            obs, _ = mj.reset(seed=100 + seed, options={"task": task})
            twin.reset(seed=100 + seed, options={"task": task})
            copy_state(mj, twin)
            twin._start, twin._start_scene = twin.sim.snapshot(), twin.sim.scene_obs()
            expert = ScriptedExpert(mj)
            expert.reset(obs["instruction"])
            twin_success = False
            for _ in range(360):
                obs, _, done, _, info = mj.step(expert.act(obs))
                twin.sim.data.ctrl[:] = mj.sim.data.ctrl
                twin.sim.step()
                twin_success = twin_success or twin.task.check(twin._start, twin.sim.snapshot())
                if done:
                    break
            ok_mj += info["success"]
            ok_twin += twin_success
            a, b = mj.sim.scene_obs(), twin.sim.scene_obs()
            gaps.append(max(np.linalg.norm(a[6 + 6 * i : 9 + 6 * i] - b[6 + 6 * i : 9 + 6 * i]) for i in range(3)))
        n = args.seeds
        print(f"| {task} | {ok_mj}/{n} | {ok_twin}/{n} | {np.median(gaps) * 1e3:.1f}, {np.max(gaps) * 1e3:.1f} |")
    mj.close()
    twin.close()
    return 0


def _diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.clip(np.abs(a.astype(int) - b.astype(int)) * 4, 0, 255)


if __name__ == "__main__":
    sys.exit(main())
