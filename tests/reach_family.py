"""A one-task environment family declared outside ``envs/``: a point-mass hand reaches a red dot.

It exists to prove that the harness reads families only through their descriptors: importing this
module (``GR_BENCH_FAMILIES=reach_family`` with ``tests/`` on the path) registers it, and `gr-bench
play`, `collect`, `eval`, `ls suites`, reports and the per-family perf figure work on it with no
edit of ``gr_bench/``. Its `seen` track joins a new version of the suite, one after the newest the
other families declare.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.episodes import Episode, keyed_rng, keyed_seed
from envs.family import Camera, Family, Track, families, register_family
from envs.utils.conventions import INSTRUCTION_CHARSET

ENV_ID = "GRBenchTest/Reach-v0"
TASK = "reach_target"
MAX_STEPS = 100
STEP_M = 0.03  # metres the hand's target moves per unit of action
REACHED_M = 0.03  # success: the hand's centre this close to the dot's
XML = """
<mujoco model="reach">
  <option timestep="0.01"/>
  <worldbody>
    <light pos="0 0 2"/>
    <geom name="table" type="plane" size="0.5 0.5 0.01" rgba="0.6 0.5 0.4 1"/>
    <camera name="top" pos="0 0 1.1" xyaxes="1 0 0 0 1 0"/>
    <body name="hand" pos="0 0 0.05">
      <joint name="x" type="slide" axis="1 0 0" damping="20" range="-0.4 0.4"/>
      <joint name="y" type="slide" axis="0 1 0" damping="20" range="-0.4 0.4"/>
      <geom type="sphere" size="0.03" rgba="0.2 0.3 0.9 1" mass="0.5" contype="0" conaffinity="0"/>
    </body>
    <body name="dot" mocap="true" pos="0.2 0.1 0.05">
      <geom type="sphere" size="0.02" rgba="0.9 0.1 0.1 1" contype="0" conaffinity="0"/>
    </body>
  </worldbody>
  <actuator>
    <position joint="x" kp="400" ctrlrange="-0.4 0.4"/>
    <position joint="y" kp="400" ctrlrange="-0.4 0.4"/>
  </actuator>
</mujoco>
"""
BANK = {"train": ("reach the red dot", "move your hand to the red dot"), "eval": ("touch the red marker",)}


class ReachEnv(gym.Env):
    """Point-mass hand over a table; task ``reach_target``; scenes A (training) and B (held out: the
    dot starts farther away). Action 2-D: the hand's target moves 3 cm per unit, clipped to [-1, 1]."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(self, cameras=("top",), resolution=None, scene: str = "A", task: str | None = None):
        import mujoco

        self.cameras = tuple(cameras)
        size = resolution.get("top", 64) if isinstance(resolution, dict) else 64
        self.resolution = {"top": (size, size)}
        self.model = mujoco.MjModel.from_xml_string(XML)
        self.data = mujoco.MjData(self.model)
        self._renderer = mujoco.Renderer(self.model, size, size) if self.cameras else None
        self.default_scene, self.max_steps = scene, MAX_STEPS
        obs = {f"rgb_{c}": spaces.Box(0, 255, (size, size, 3), np.uint8) for c in self.cameras}
        obs["robot_obs"] = spaces.Box(-np.inf, np.inf, (2,), np.float32)
        obs["scene_obs"] = spaces.Box(-np.inf, np.inf, (2,), np.float32)
        obs["instruction"] = spaces.Text(max_length=512, min_length=0, charset=INSTRUCTION_CHARSET)
        self.observation_space = spaces.Dict(obs)
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_spec = {"shape": (2,), "layout": ["dx", "dy"]}
        self.instruction, self.scene, self._steps = "", scene, 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        import mujoco

        super().reset(seed=seed)
        options = dict(options or {})
        if options.get("task", TASK) != TASK:
            raise ValueError(f"unknown task {options['task']!r}; this environment has only {TASK!r}")
        self.scene = options.get("scene", self.default_scene)
        mujoco.mj_resetData(self.model, self.data)
        radius = 0.15 if self.scene == "A" else 0.3
        angle = self.np_random.uniform(0, 2 * np.pi)
        self.data.mocap_pos[0, :2] = radius * np.array([np.cos(angle), np.sin(angle)])
        mujoco.mj_forward(self.model, self.data)
        self.instruction = options.get("instruction") or BANK["train"][0]
        self._steps = 0
        return self._observation(), self._info(False)

    def step(self, action):
        import mujoco

        action = np.clip(np.asarray(action, dtype=float), -1.0, 1.0)
        self.data.ctrl[:] = np.clip(self.data.qpos[:2] + action * STEP_M, -0.4, 0.4)
        mujoco.mj_step(self.model, self.data, nstep=5)
        self._steps += 1
        success = self._reached()
        truncated = self._steps >= self.max_steps and not success
        return self._observation(), float(success), success, truncated, self._info(success)

    def no_op_action(self) -> np.ndarray:
        return np.zeros(2)

    def untouched(self) -> bool:
        return not self._reached()  # the only thing to touch is the dot

    def close(self):
        if self._renderer is not None:
            self._renderer.close()

    def _reached(self) -> bool:
        return bool(np.linalg.norm(self.data.qpos[:2] - self.data.mocap_pos[0, :2]) < REACHED_M)

    def _observation(self) -> dict[str, Any]:
        obs: dict[str, Any] = {}
        for camera in self.cameras:
            self._renderer.update_scene(self.data, camera)
            obs[f"rgb_{camera}"] = self._renderer.render().copy()
        obs["robot_obs"] = self.data.qpos[:2].astype(np.float32)
        obs["scene_obs"] = self.data.mocap_pos[0, :2].astype(np.float32)
        obs["instruction"] = self.instruction
        return obs

    def _info(self, success: bool) -> dict[str, Any]:
        return {
            "success": success,
            "task": TASK,
            "scene": self.scene,
            "instruction": self.instruction,
            "variations": {},
        }


class ReachExpert:
    """Moves the hand straight at the dot (privileged: reads scene_obs)."""

    def __init__(self, env):
        self.env = env

    def reset(self, instruction: str | None = None) -> None:
        pass

    def act(self, observation) -> np.ndarray:
        return np.clip((observation["scene_obs"] - observation["robot_obs"]) / STEP_M, -1.0, 1.0)


def seen_episodes() -> list[Episode]:
    episodes = []
    for i in range(4):
        phrase = BANK["train"][int(keyed_rng("seen", ENV_ID, i).integers(len(BANK["train"])))]
        episodes.append(
            Episode(
                episode_id=f"seen/reach/none/train/{TASK}/A/{i}",
                env_id=ENV_ID,
                scene="A",
                tasks=(TASK,),
                instructions=(phrase,),
                seed=keyed_seed("seen", ENV_ID, i),
                instruction_category="train",
                axis="none",
                max_steps=MAX_STEPS,
            )
        )
    return episodes


def tracks() -> tuple[Track, ...]:
    newest = max(t.version for f in families() if f.id != "reach" for t in f.tracks() if t.suite == "seen")
    return (Track("seen", newest + 1, "reach: the dot in scene A", seen_episodes),)


REACH = register_family(
    Family(
        id="reach",
        env_id=ENV_ID,
        entry_point="reach_family:ReachEnv",
        max_episode_steps=MAX_STEPS,
        description="a point-mass hand reaches a red dot (a test family)",
        robot="point_mass",
        cameras=(Camera("top", "size", 64, 1.0),),
        robot_obs_names=("hand_x", "hand_y"),
        scene_obs_names=("dot_x", "dot_y"),
        action_layout=(("hand_xy", 2),),
        expert="reach_family:ReachExpert",
        default_task=TASK,
        scenes=("A", "B"),
        training_scenes=("A",),
        tasks=lambda: {TASK: "reach"},
        instructions=lambda task, split="train": BANK[split],
        invalid_training_requests=lambda: ("reach the green dot",),
        axes=dict,
        tracks=tracks,
    )
)
