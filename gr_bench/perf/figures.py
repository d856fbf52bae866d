"""What the perf gate measures: a registry of figures, each timed against a calibration.

A figure is a rate (units of work per second, higher is better) of one piece of gr-bench: an env
step, a camera render, an expert episode, an evaluator episode, an agent's ``act()``. Each is
divided by a calibration measured beside it in the same run, so the ratio survives a busier or
slower machine: simulation figures by raw ``mj_step`` throughput on a fixed reference model (not
ours, so that a heavier tabletop model shows up as a regression), agent figures by a fixed matrix
multiply.

Adding an agent is one line in ``AGENTS`` below: its ``act()`` latency on a camera observation is
then gated, and so is one training step when it names a train-step factory.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class Clock:
    """Wall and CPU seconds spent inside ``with clock:`` blocks (it may be entered many times).

    CPU time counts every thread of this process and stops while another process has the core,
    so on a shared machine it is far steadier than wall time.
    """

    def __init__(self):
        self.wall = self.cpu = 0.0

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall += time.perf_counter() - self._wall
        self.cpu += time.process_time() - self._cpu


Sampler = Callable[[int], Clock]  # does `calls` units of work and returns the time they took


@dataclass(frozen=True)
class Figure:
    """One gated figure. ``setup(bench)`` prepares it (untimed) and returns its sampler."""

    name: str
    unit: str  # what the rate counts, e.g. "env steps"
    calibration: str  # a key of CALIBRATIONS
    calls: int  # units of work in one sample of a full run
    setup: Callable[[Bench], Sampler]
    description: str


@dataclass(frozen=True)
class AgentPerf:
    """How to time an agent. Give ``spec`` (a registry name or ``module:Class``, built with
    ``make_agent(spec, config)``) or ``build``, a ``module:function`` that takes a scratch folder
    and returns the agent (for agents that load a checkpoint). ``train_step``, for a trainable
    agent, is a ``module:function`` that takes a scratch folder and returns ``step()``, one
    optimizer step of the agent's tiny config on a batch it made itself."""

    spec: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    build: str | None = None
    train_step: str | None = None
    act_calls: int = 50_000  # act() calls in one sample of a full run: a sample should take 0.05-0.3 s
    train_calls: int = 1

    def __post_init__(self):
        if (self.spec is None) == (self.build is None):
            raise ValueError(f"AgentPerf needs exactly one of spec and build, got {self.spec=} {self.build=}")


# One line per agent: its act() latency on a camera observation is then gated, and one training
# step too when it names one.
AGENTS: dict[str, AgentPerf] = {
    "random": AgentPerf(spec="random"),
    "gr1_tiny": AgentPerf(
        build="gr_bench.perf.gr1:tiny_agent", train_step="gr_bench.perf.gr1:tiny_train_step", act_calls=20
    ),
    "gr3_tiny": AgentPerf(
        build="gr_bench.perf.gr3:tiny_agent",
        train_step="gr_bench.perf.gr3:tiny_train_step",
        act_calls=40,
        train_calls=3,
    ),
}

TASK = "open_drawer"  # the task every simulation figure runs: short, with articulation contacts
SEED = 0
MAX_EPISODE_STEPS = 360  # as the registered env truncates
ACTION_SCALE = 0.3  # random relative actions in [-0.3, 0.3]: the arm moves without flailing
CALIBRATION_MJ_STEPS = 6000  # raw physics steps in one mj_step calibration sample (about 0.07 s)
CALIBRATION_MATMULS = 20_000  # matrix products in one matmul calibration sample (about 0.1 s)
MATMUL_SIZE = 64  # small enough that interpreter overhead counts beside BLAS, as in an agent's act()


class Bench:
    """Resources the figures share in one run (environments, a scratch directory), made lazily."""

    def __init__(self):
        self._envs: dict[tuple[str, ...], Any] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="gr-bench-perf-")
        self._runs = 0

    def env(self, cameras: tuple[str, ...]):
        """A tabletop env with these cameras, reset to the benchmark episode."""
        if cameras not in self._envs:
            from envs.tabletop.env import TabletopEnv

            env = TabletopEnv(cameras=cameras)
            self.reset(env)
            self._envs[cameras] = env
        return self._envs[cameras]

    @staticmethod
    def reset(env) -> dict[str, Any]:
        obs, _ = env.reset(seed=SEED, options={"task": TASK, "instruction": "open the drawer"})
        return obs

    def scratch(self) -> str:
        """A fresh directory (an evaluator run, a checkpoint)."""
        self._runs += 1
        return f"{self._tmp.name}/run{self._runs}"

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
        self._envs.clear()
        self._tmp.cleanup()


# --- calibrations --------------------------------------------------------------------------------
# A small arm pushing a few free bodies about: hinge joints, position actuators and contacts, as
# the tabletop has, in a model no change to gr-bench touches. Never edit it: every baseline's
# simulation ratios are relative to it.
REFERENCE_MJCF = """
<mujoco model="gr-bench perf reference">
  <option timestep="0.002"/>
  <default><geom friction="1 0.005 0.0001" solref="0.01 1"/><joint damping="2" armature="0.01"/></default>
  <worldbody>
    <geom type="plane" size="1 1 0.1"/>
    <body pos="0 0 0.05">
      <joint name="j1" axis="0 0 1"/><geom type="capsule" fromto="0 0 0 0 0 0.3" size="0.05"/>
      <body pos="0 0 0.3">
        <joint name="j2" axis="0 1 0"/><geom type="capsule" fromto="0 0 0 0.25 0 0" size="0.04"/>
        <body pos="0.25 0 0">
          <joint name="j3" axis="0 1 0"/><geom type="capsule" fromto="0 0 0 0.25 0 0" size="0.035"/>
          <body pos="0.25 0 0"><joint name="j4" axis="0 1 0"/><geom type="box" size="0.03 0.05 0.02"/></body>
        </body>
      </body>
    </body>
    <body pos="0.35 0 0.05"><freejoint/><geom type="box" size="0.03 0.03 0.03"/></body>
    <body pos="0.35 0 0.12"><freejoint/><geom type="box" size="0.03 0.03 0.03"/></body>
    <body pos="0.45 0.1 0.05"><freejoint/><geom type="sphere" size="0.03"/></body>
    <body pos="0.25 -0.1 0.05"><freejoint/><geom type="cylinder" size="0.03 0.03"/></body>
  </worldbody>
  <actuator>
    <position joint="j1" kp="50"/><position joint="j2" kp="200"/><position joint="j3" kp="100"/>
    <position joint="j4" kp="20"/>
  </actuator>
</mujoco>
"""
REFERENCE_CTRL = (1.0, 0.9, 1.2, 0.5)  # radians: joint targets that sweep the arm through the bodies


def _raw_mj_steps(model, start_qpos, ctrl) -> Sampler:
    """Raw ``mj_step`` throughput; every sample integrates the same stretch from the same state."""
    import mujoco

    data = mujoco.MjData(model)

    def sample(calls: int) -> Clock:
        mujoco.mj_resetData(model, data)
        data.qpos[:] = start_qpos
        data.ctrl[:] = ctrl
        with Clock() as clock:
            mujoco.mj_step(model, data, nstep=calls)
        return clock

    return sample


def _mj_step_calibration(bench: Bench) -> Sampler:
    import mujoco

    model = mujoco.MjModel.from_xml_string(REFERENCE_MJCF)
    return _raw_mj_steps(model, model.qpos0, REFERENCE_CTRL)


def _tabletop_physics(bench: Bench) -> Sampler:
    sim = bench.env(()).sim  # reset to the benchmark episode: the robot at home, the scene laid out
    return _raw_mj_steps(sim.model, sim.data.qpos.copy(), sim.data.ctrl.copy())


def _matmul_calibration(bench: Bench) -> Sampler:
    import numpy as np

    a = np.random.default_rng(0).standard_normal((MATMUL_SIZE, MATMUL_SIZE)).astype(np.float32)

    def sample(calls: int) -> Clock:
        with Clock() as clock:
            for _ in range(calls):
                a @ a
        return clock

    return sample


@dataclass(frozen=True)
class Calibration:
    unit: str
    calls: int
    setup: Callable[[Bench], Sampler]
    description: str


CALIBRATIONS: dict[str, Calibration] = {
    "mj_step": Calibration(
        "mj_steps", CALIBRATION_MJ_STEPS, _mj_step_calibration, "raw mj_step throughput on a fixed reference model"
    ),
    "matmul": Calibration(
        "matmuls", CALIBRATION_MATMULS, _matmul_calibration, f"{MATMUL_SIZE}x{MATMUL_SIZE} float32 numpy matmul"
    ),
}


# --- simulation figures --------------------------------------------------------------------------
def _env_steps(cameras: tuple[str, ...]) -> Callable[[Bench], Sampler]:
    def setup(bench: Bench) -> Sampler:
        import numpy as np

        env = bench.env(cameras)

        def sample(calls: int) -> Clock:
            # the same actions from the same state every sample: the same work every sample
            actions = np.random.default_rng(SEED).uniform(-ACTION_SCALE, ACTION_SCALE, size=(calls, 7))
            bench.reset(env)
            with Clock() as clock:
                for action in actions:
                    env.step(action)
            return clock

        return sample

    return setup


def _render(camera: str) -> Callable[[Bench], Sampler]:
    def setup(bench: Bench) -> Sampler:
        import mujoco

        env = bench.env((camera,))
        renderer = mujoco.Renderer(env.sim.model, *env.resolution[camera])

        def sample(calls: int) -> Clock:
            with Clock() as clock:
                for _ in range(calls):
                    renderer.update_scene(env.sim.data, camera)
                    renderer.render()
            return clock

        return sample

    return setup


def _expert_episode(bench: Bench) -> Sampler:
    from envs.tabletop.expert import ScriptedExpert

    env = bench.env(())
    expert = ScriptedExpert(env)

    def sample(calls: int) -> Clock:
        clock = Clock()
        for _ in range(calls):
            obs = bench.reset(env)
            with clock:
                expert.reset(obs["instruction"])
                for _ in range(MAX_EPISODE_STEPS):
                    obs, _, terminated, _, _ = env.step(expert.act(obs))
                    if terminated:
                        break
        return clock

    return sample


def _evaluator(agent: str) -> Callable[[Bench], Sampler]:
    def setup(bench: Bench) -> Sampler:
        from gr_bench.evaluator import evaluate
        from gr_bench.suites import get_suite

        smoke = get_suite("smoke")

        def sample(calls: int) -> Clock:
            # a whole run as a user starts one: agent, environment, episodes, files written
            suite = smoke.select(episodes=calls)
            if len(suite.episodes) != calls:
                raise ValueError(f"the smoke suite has {len(suite.episodes)} episodes, fewer than {calls}")
            with Clock() as clock:
                evaluate(suite, agent, bench.scratch(), progress=False)
            return clock

        return sample

    return setup


# --- agent figures -------------------------------------------------------------------------------
def adamw_step(model, batch: dict[str, Any], lr: float = 3e-4):
    """``step()``: one AdamW step of ``model.loss`` on ``batch`` (the trainable parameters only), as
    the agents' training-step figures time it."""
    import torch

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)

    def step() -> None:
        loss, _ = model.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def camera_observation() -> dict[str, Any]:
    """An observation as a learned agent gets it (cameras, robot_obs, instruction; no scene_obs)."""
    import numpy as np

    from envs.tabletop.env import DEFAULT_RESOLUTION

    rng = np.random.default_rng(SEED)
    obs: dict[str, Any] = {
        f"rgb_{camera}": rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        for camera, size in DEFAULT_RESOLUTION.items()
    }
    obs["robot_obs"] = rng.standard_normal(15).astype(np.float32)
    obs["instruction"] = "open the drawer"
    return obs


def _act(perf: AgentPerf) -> Callable[[Bench], Sampler]:
    def setup(bench: Bench) -> Sampler:
        if perf.build:
            agent = _function(perf.build)(bench.scratch())
        else:
            from gr_bench.agents import make_agent

            agent = make_agent(perf.spec, perf.config)
        obs = camera_observation()
        agent.reset(obs["instruction"])

        def sample(calls: int) -> Clock:
            with Clock() as clock:
                for _ in range(calls):
                    agent.act(obs)
            return clock

        return sample

    return setup


def _train_step(perf: AgentPerf) -> Callable[[Bench], Sampler]:
    def setup(bench: Bench) -> Sampler:
        step = _function(perf.train_step)(bench.scratch())

        def sample(calls: int) -> Clock:
            with Clock() as clock:
                for _ in range(calls):
                    step()
            return clock

        return sample

    return setup


def _function(path: str) -> Callable:
    import importlib

    module_name, _, name = path.partition(":")
    return getattr(importlib.import_module(module_name), name)


def _agent_figures() -> list[Figure]:
    figures = []
    for name, perf in AGENTS.items():
        figures.append(
            Figure(f"act_{name}", "act() calls", "matmul", perf.act_calls, _act(perf), f"{name} agent act() latency")
        )
        if perf.train_step:
            figures.append(
                Figure(
                    f"train_step_{name}",
                    "train steps",
                    "matmul",
                    perf.train_calls,
                    _train_step(perf),
                    f"one training step of {name}",
                )
            )
    return figures


FIGURES: dict[str, Figure] = {
    f.name: f
    for f in [
        Figure(
            "env_step_two_cameras",
            "env steps",
            "mj_step",
            40,
            _env_steps(("static", "gripper")),
            "env.step with both cameras at 200x200 and 84x84",
        ),
        Figure("env_step_no_cameras", "env steps", "mj_step", 150, _env_steps(()), "env.step, physics only"),
        Figure("tabletop_mj_step", "mj_steps", "mj_step", 4000, _tabletop_physics, "raw mj_step on the tabletop model"),
        Figure("render_static", "renders", "mj_step", 60, _render("static"), "one static-camera frame, 200x200"),
        Figure("render_gripper", "renders", "mj_step", 150, _render("gripper"), "one gripper-camera frame, 84x84"),
        Figure("expert_episode", "episodes", "mj_step", 4, _expert_episode, f"a scripted-expert {TASK} episode"),
        Figure(
            "evaluator_oracle_smoke",
            "episodes",
            "mj_step",
            4,
            _evaluator("oracle"),
            "gr-bench eval of the oracle on the smoke suite, start-up included",
        ),
        Figure(
            "evaluator_random_smoke",
            "episodes",
            "mj_step",
            1,
            _evaluator("random"),
            "gr-bench eval of the random agent on one smoke episode (360 steps, both cameras), start-up included",
        ),
        *_agent_figures(),
    ]
}
