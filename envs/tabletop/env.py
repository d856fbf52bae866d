"""CALVIN-style language-conditioned tabletop manipulation with a Franka Panda."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from gymnasium import spaces

from envs.errors import TaskPreconditionError
from envs.robots.panda import REST_POSTURE
from envs.tabletop.language import instructions
from envs.tabletop.scenes import get_scene
from envs.tabletop.sim import CONTROL_DT, PlayTableSim
from envs.tabletop.state import (
    HOME_TCP,
    HOME_YAW,
    InitialStateError,
    SymbolicState,
    classify,
    realize,
    sample_symbolic_state,
)
from envs.tabletop.tasks import TASKS, feasible, get_task
from envs.tabletop.variations import apply as apply_variations
from envs.tabletop.variations import check_variations
from envs.utils.conventions import (
    MAX_REL_ORN,
    MAX_REL_POS,
    checked_action,
    checked_instruction,
    checked_options,
)
from envs.utils.physics_state import restore_physics, save_physics
from envs.utils.rendering import CameraEnv
from envs.utils.rotations import euler_to_mat, mat_to_euler, topdown_mat

WORKSPACE_LOW = np.array([-0.5, -0.45, -0.2])  # metres: absolute targets are clipped to this box
WORKSPACE_HIGH = np.array([0.5, 0.35, 0.6])
CAMERAS = ("static", "gripper")
DEFAULT_RESOLUTION = {"static": 200, "gripper": 84}  # pixels, as CALVIN
MAX_SAMPLING_TRIES = 200
UNTOUCHED_JOINT = 0.01  # metres an articulation may move on an impossible request
UNTOUCHED_BLOCK = 0.02  # metres a block may move on an impossible request


class TabletopEnv(CameraEnv):
    """CALVIN-style play table: a Franka Panda, a desk with a drawer, a sliding-door cabinet, a
    button and green LED, a switch and yellow light bulb, and three blocks.

    ## Description
    One of CALVIN's 34 tasks (``envs.tabletop.tasks.TASKS``) is chosen at reset together with a
    random initial state in which the task's precondition holds; the instruction names the task.

    ## Randomizations
    Initial state: a symbolic state (where each block is, slider left/right, drawer open/closed,
    lights) drawn at random until the task's precondition holds, then realised with random block
    positions and yaw, random articulation values within each symbolic state. Scenes A-D
    (``reset(options={"scene": "D"})``) change desk colour, fixture positions and block sizes.
    Unseen-scene axes (``envs.tabletop.variations.AXES``: table appearance, lighting, camera pose,
    background, distractors, block colours, layout) are applied only when asked for, with
    ``reset(options={"variations": {axis: value}})``, and recorded in ``info["variations"]``; each
    declares its training and unseen ranges. None changes the physics; ``layout`` picks the scene.

    ## Success
    ``info["success"]`` compares the state at reset with the current one (CALVIN's semantics);
    the episode terminates on success and is truncated after 360 steps.

    ## Observation space
    ``rgb_static`` (200x200x3 uint8) and ``rgb_gripper`` (84x84x3) unless cameras are switched
    off; ``robot_obs`` (15,): TCP position (m), TCP euler angles (rad, extrinsic xyz), gripper
    opening width (m), 7 joint positions (rad), last gripper action (+1 open / -1 close);
    ``scene_obs`` (24,): slider (m), drawer (m), button (m), switch (m), lightbulb (0/1), LED (0/1),
    then position (m) and euler angles (rad) of the red, blue and pink blocks. ``scene_obs`` is
    privileged: evaluators do not give it to learned agents. ``instruction``: the task in words.

    ## Action space
    7-D, CALVIN's convention. ``action_mode="relative"`` (default): xyz displacement of the TCP in
    the world frame, scaled by 0.02 m per unit; euler-angle rotation (extrinsic xyz, world frame,
    applied before the current orientation) scaled by 0.05 rad per unit; both clipped to [-1, 1].
    ``action_mode="absolute"``: target TCP position (m, world frame, clipped to the workspace box)
    and euler angles (rad). Last entry, both modes: gripper, >= 0 opens, < 0 closes (+1 open,
    -1 close). Control runs at 30 Hz, 16 physics steps of 1/480 s each.

    ## Arguments
    ``task``: default task name (else one is drawn per reset); ``scene``: default scene;
    ``cameras``: subset of ``("static", "gripper")``; ``resolution``: dict camera -> int or
    (height, width); ``action_mode``; ``instruction_split``: ``train`` or ``eval`` phrasings.

    ## Version history
    v0: first release.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": int(round(1 / CONTROL_DT))}
    sim_class = PlayTableSim  # the simulator of a scene (the PyBullet twin swaps in its own)

    def __init__(
        self,
        task: str | None = None,
        scene: str = "A",
        cameras: tuple[str, ...] | list[str] = CAMERAS,
        resolution: dict[str, int | tuple[int, int]] | None = None,
        action_mode: str = "relative",
        instruction_split: str = "train",
        render_mode: str | None = None,
    ):
        self._init_kwargs = dict(
            task=task,
            scene=scene,
            cameras=tuple(cameras),
            resolution=resolution,
            action_mode=action_mode,
            instruction_split=instruction_split,
            render_mode=render_mode,
        )
        if task is not None:
            get_task(task)
        get_scene(scene)
        if action_mode not in ("relative", "absolute"):
            raise ValueError(f"action_mode must be 'relative' or 'absolute', got {action_mode!r}")
        self._init_common(task, scene, cameras, resolution, instruction_split, render_mode, DEFAULT_RESOLUTION)
        self.action_mode = action_mode
        self.observation_space = self._observation_space(robot_obs=15, scene_obs=24)
        self.action_space = (
            spaces.Box(-1.0, 1.0, (7,), np.float32)
            if action_mode == "relative"
            else spaces.Box(
                np.r_[WORKSPACE_LOW, -np.pi, -np.pi, -np.pi, -1.0].astype(np.float32),
                np.r_[WORKSPACE_HIGH, np.pi, np.pi, np.pi, 1.0].astype(np.float32),
            )
        )
        self.action_spec = {
            "shape": (7,),
            "mode": action_mode,
            "layout": ["x", "y", "z", "euler_x", "euler_y", "euler_z", "gripper"],
            "frame": "world",
            "units": "relative: 0.02 m and 0.05 rad per unit, clipped to [-1, 1]"
            if action_mode == "relative"
            else "absolute: metres and radians (extrinsic xyz euler)",
            "gripper": "+1 open, -1 close (>= 0 opens)",
            "control_hz": 1 / CONTROL_DT,
        }
        self._sims: dict[str, PlayTableSim] = {}
        self._home_q: dict[str, np.ndarray] = {}
        self.sim: PlayTableSim | None = None
        self.symbolic_state: SymbolicState | None = None
        self._start = None

    # --- scene management ------------------------------------------------------------------
    def _sim_for(self, scene: str) -> PlayTableSim:
        if scene not in self._sims:
            sim = self.sim_class(get_scene(scene))
            self._sims[scene] = sim
            self._home_q[scene] = _home_posture(sim)
        return self._sims[scene]

    # --- gym API ---------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = checked_options(options, ("task", "scene", "initial_state", "instruction", "variations"))
        variations = check_variations(options.get("variations"))
        instruction = checked_instruction(options.get("instruction"))
        scene = options.get("scene", self.default_scene)
        if "layout" in variations:
            if "scene" in options and options["scene"] != variations["layout"]:
                raise ValueError(
                    f"reset options name scene {options['scene']!r} but the layout variation {variations['layout']!r}; "
                    "give one of them"
                )
            scene = variations["layout"]
        task_name = options.get("task", self.default_task)
        self.task = get_task(task_name) if task_name is not None else TASKS[self.np_random.choice(sorted(TASKS))]
        self.sim = self._sim_for(str(scene))
        # every reset puts the cached simulator's looks back as compiled before applying new ones
        self.variations = apply_variations(self.sim, variations)
        state = options.get("initial_state")
        if state is not None:
            state = state if isinstance(state, SymbolicState) else SymbolicState(**state)
            if not state.is_valid():
                raise ValueError(
                    f"initial_state {state} is impossible: at most one block can be held, one stacked, one "
                    "per cabinet compartment and two in the drawer, and a stack stands on the desk"
                )
            if not self.task.precondition(state):
                raise TaskPreconditionError(
                    f"task {self.task.name!r} cannot start from {state}: its precondition does not hold. "
                    "Pass an initial_state that allows it, or none to have one sampled."
                )
        self.symbolic_state = self._build_initial_state(state)
        self.instruction = instruction or str(
            self.np_random.choice(instructions(self.task.name, self.instruction_split))
        )
        self._start = self.sim.snapshot()
        self._start_scene = self.sim.scene_obs()
        return self._observation(), self._info(success=False)

    def _build_initial_state(self, fixed: SymbolicState | None) -> SymbolicState:
        sim = self.sim
        for _ in range(MAX_SAMPLING_TRIES):
            wanted = fixed
            while wanted is None:
                candidate = sample_symbolic_state(self.np_random)
                wanted = candidate if self.task.precondition(candidate) else None
            try:
                realize(sim, wanted, self.np_random, self._home_q[sim.scene.name])
            except InitialStateError:
                continue
            snapshot = sim.snapshot()
            if classify(snapshot, sim) == wanted and feasible(self.task, snapshot, sim.scene):
                return wanted
        raise InitialStateError(
            f"could not build an initial state for task {self.task.name!r} in scene {sim.scene.name} "
            f"after {MAX_SAMPLING_TRIES} tries" + (f" from {fixed}" if fixed else "")
        )

    def step(self, action):
        if self.sim is None:
            raise RuntimeError("call reset() before step()")
        action = checked_action(action, (7,), "xyz, euler xyz, gripper")
        sim, data = self.sim, self.sim.data
        pos, mat = sim.arm.tcp_pose(data)
        if self.action_mode == "relative":
            rel = np.clip(action, -1.0, 1.0)
            target_pos = pos + rel[:3] * MAX_REL_POS
            target_mat = euler_to_mat(rel[3:6] * MAX_REL_ORN) @ mat
        else:
            target_pos = action[:3]
            target_mat = euler_to_mat(action[3:6])
        target_pos = np.clip(target_pos, WORKSPACE_LOW, WORKSPACE_HIGH)
        sim.arm.set_joint_targets(data, sim.arm.solve_ik(data, target_pos, target_mat))
        gripper_open = action[6] >= 0
        sim.arm.set_gripper(data, gripper_open)
        sim.last_gripper_action = 1.0 if gripper_open else -1.0
        sim.step()
        success = self.task.check(self._start, sim.snapshot())
        return self._observation(), float(success), success, False, self._info(success)

    def begin_task(self, task: str, instruction: str | None = None) -> dict[str, Any]:
        """Start the next task of a long-horizon chain from the current state, without a reset.

        Success is then judged against the state at this moment, as CALVIN's chained evaluation
        does; the task's precondition is not enforced (a chain goes on from whatever the robot left).
        Returns the observation with the new instruction.
        """
        if self.sim is None:
            raise RuntimeError("call reset() before begin_task()")
        self.task = get_task(task)
        instruction = checked_instruction(instruction)
        self.instruction = instruction or str(self.np_random.choice(instructions(task, self.instruction_split)))
        self._start = self.sim.snapshot()
        self._start_scene = self.sim.scene_obs()
        return self._observation()

    def no_op_action(self) -> np.ndarray:
        """The action that keeps the arm where it is, gripper open: zero motion (relative mode) or
        the current TCP pose (absolute mode)."""
        if self.action_mode == "relative" or self.sim is None:
            return np.r_[np.zeros(6), 1.0]
        pos, mat = self.sim.arm.tcp_pose(self.sim.data)
        return np.r_[pos, mat_to_euler(mat), 1.0]

    def untouched(self) -> bool:
        """Whether nothing in the scene moved since the task began: articulations within 1 cm,
        lights as they were, blocks within 2 cm (how an impossible request is judged)."""
        if self.sim is None:
            raise RuntimeError("call reset() before untouched()")
        before, after = self._start_scene, self.sim.scene_obs()
        joints_still = np.all(np.abs(after[:4] - before[:4]) < UNTOUCHED_JOINT)
        lights_same = np.array_equal(after[4:6], before[4:6])
        blocks = [slice(6 + 6 * i, 9 + 6 * i) for i in range(3)]
        blocks_still = all(np.linalg.norm(after[b] - before[b]) < UNTOUCHED_BLOCK for b in blocks)
        return bool(joints_still and lights_same and blocks_still)

    # --- observations ----------------------------------------------------------------------
    def _prepare_render(self) -> None:
        self.sim.sync_visuals()

    def _info(self, success: bool) -> dict[str, Any]:
        return {
            "success": bool(success),
            "task": self.task.name,
            "scene": self.sim.scene.name,
            "instruction": self.instruction,
            "initial_state": self.symbolic_state.as_dict(),
            "variations": copy.deepcopy(self.variations),  # a new object per call: callers keep infos
        }

    # --- pickling: rebuild the simulator, then restore its full state ------------------------
    def __getstate__(self):
        state = {"kwargs": self._init_kwargs, "np_random": self._np_random}
        if self.sim is not None:
            physics = save_physics(self.sim.model, self.sim.data)
            state.update(
                scene=self.sim.scene.name,
                physics=physics,
                task=self.task.name,
                instruction=self.instruction,
                symbolic_state=self.symbolic_state,
                start=self._start,
                start_scene=self._start_scene,
                variations=self.variations,
                lights=(self.sim.led, self.sim.lightbulb, self.sim._button_was_pressed, self.sim.last_gripper_action),
            )
        return state

    def __setstate__(self, state):
        self.__init__(**state["kwargs"])
        self._np_random = state["np_random"]
        if "scene" in state:
            self.sim = self._sim_for(state["scene"])
            self.variations = apply_variations(self.sim, state["variations"])
            restore_physics(self.sim.model, self.sim.data, state["physics"])
            self.task = get_task(state["task"])
            self.instruction = state["instruction"]
            self.symbolic_state = state["symbolic_state"]
            self._start = state["start"]
            self._start_scene = state["start_scene"]
            self.sim.led, self.sim.lightbulb, self.sim._button_was_pressed, self.sim.last_gripper_action = state[
                "lights"
            ]


def _home_posture(sim: PlayTableSim) -> np.ndarray:
    """Joint angles that put the TCP at the home pose, pointing down."""
    sim.arm.place(sim.data, REST_POSTURE, gripper_open=True)
    sim.forward()
    q = sim.arm.solve_ik(sim.data, HOME_TCP, topdown_mat(HOME_YAW), iterations=50)
    sim.arm.place(sim.data, q, gripper_open=True)
    sim.forward()
    return q
