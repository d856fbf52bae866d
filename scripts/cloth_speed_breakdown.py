"""Where the cloth env's step time goes (issue 17's speed target), measured side by side in one run.

1. ``mj_step`` of the cloth table's model (20 x 20 square at rest on the table, the Panda at home)
   compiled with each flex elasticity (``elastic2d`` both / stretch / bend / none);
2. ``env.step`` replaying the expert's first 100 actions of a fold, physics only, with the model's
   solver settings and with cheaper ones: each row's steps per CPU second, the solver's mean
   iterations, the share of MuJoCo's step in its position stage (elasticity, collision) and
   constraint solve, and the fold's progress after those 100 steps (a different number: the
   setting changes the rollout, so it changes the simulation, not only its cost).

    python scripts/cloth_speed_breakdown.py
"""

from __future__ import annotations

import os
import time

import mujoco
import numpy as np


def _timers(data: mujoco.MjData) -> dict[str, float]:
    total = data.timer[mujoco.mjtTimer.mjTIMER_STEP].duration or 1.0
    return {
        name: data.timer[getattr(mujoco.mjtTimer, f"mjTIMER_{name}")].duration / total
        for name in ("POSITION", "CONSTRAINT")
    }


def _reset_timers(data: mujoco.MjData) -> None:
    for timer in data.timer:
        timer.duration, timer.number = 0.0, 0


def elasticity_rows(steps: int = 300) -> list[str]:
    import envs.cloth.sim as cloth_sim
    from envs.cloth.env import scene_garment

    garment = scene_garment("square", {})
    rows = []
    for kind in ("both", "stretch", "bend", "none"):
        text = cloth_sim.asset_path("cloth_table.xml").read_text()
        flex = cloth_sim.flex_xml(garment).replace('elastic2d="both"', f'elastic2d="{kind}"')
        text = text.replace("<!-- cloth -->", flex).replace("<!-- grasps -->", "")
        model = mujoco.MjModel.from_xml_string(text, {"panda.xml": cloth_sim.asset_path("panda.xml").read_bytes()})
        data = mujoco.MjData(model)
        mujoco.mj_step(model, data, nstep=20)
        _reset_timers(data)
        start = time.process_time()
        mujoco.mj_step(model, data, nstep=steps)
        rate = steps / (time.process_time() - start)
        share = _timers(data)
        rows.append(
            f"| elastic2d={kind} | {rate:.0f} mj_step/s | | {share['POSITION']:.0%} | {share['CONSTRAINT']:.0%} | |"
        )
    return rows


def solver_rows(steps: int = 100) -> list[str]:
    from envs.cloth.env import ClothEnv
    from envs.cloth.expert import ClothExpert

    env = ClothEnv(task="fold_in_half", scene="square", cameras=())
    obs, _ = env.reset(seed=0)
    expert = ClothExpert(env)
    expert.reset()
    actions = []
    for _ in range(steps):
        actions.append(expert.act(obs))
        obs, *_ = env.step(actions[-1])
    model = env.sim.model
    settings = {
        "the model's (CG, 30 iterations)": {},
        "CG, 10 iterations": {"iterations": 10},
        "Newton": {"solver": mujoco.mjtSolver.mjSOL_NEWTON},
    }
    original = {"iterations": model.opt.iterations, "solver": model.opt.solver}
    rows = []
    for label, change in settings.items():
        for key, value in {**original, **change}.items():
            setattr(model.opt, key, value)
        env.reset(seed=0)
        data = env.sim.data
        _reset_timers(data)
        iterations = []
        start = time.process_time()
        for action in actions:
            _, _, _, _, info = env.step(action)
            iterations.append(int(data.solver_niter[0]))
        rate = len(actions) / (time.process_time() - start)
        share = _timers(data)
        rows.append(
            f"| {label} | {rate:.0f} env steps/s | {np.mean(iterations):.1f} | {share['POSITION']:.0%} | "
            f"{share['CONSTRAINT']:.0%} | {info['progress']:.2f} |"
        )
    for key, value in original.items():
        setattr(model.opt, key, value)
    env.close()
    return rows


def main() -> None:
    os.environ.setdefault("MUJOCO_GL", "egl")
    print("| what | speed (CPU s) | solver iterations | position stage | constraint solve | fold progress |")
    print("|---|---|---|---|---|---|")
    for row in elasticity_rows() + solver_rows():
        print(row)


if __name__ == "__main__":
    main()
