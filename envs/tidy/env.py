"""Long-horizon table tidying (GR-3's table bussing) with the ByteMini mobile bimanual robot."""

from __future__ import annotations

import copy
from typing import Any

import mujoco
import numpy as np

from envs.robots.bytemini import (
    HEAD_PAN,
    HEAD_TILT,
    LIFT_HEIGHT,
    SIDES,
)
from envs.robots.bytemini_control import ByteMiniControl, action_space, home_posture
from envs.tidy.language import instructions
from envs.tidy.layout import choose_objects, place_clutter, place_objects
from envs.tidy.scenes import get_scene
from envs.tidy.sim import CONTROL_DT, MAX_OBJECTS, Placement, TidySim
from envs.tidy.tasks import CLEAR_TABLE, TidyTask, get_task, untouched
from envs.tidy.variations import DEFAULT_OBJECT_COUNT, check_variations
from envs.tidy.variations import apply as apply_variations
from envs.utils.conventions import (
    checked_instruction,
    checked_options,
)
from envs.utils.physics_state import restore_physics, save_physics
from envs.utils.rendering import CameraEnv

CAMERAS = ("head", "left_wrist", "right_wrist")
DEFAULT_RESOLUTION = {"head": 224, "left_wrist": 128, "right_wrist": 128}  # pixels
BASE_X = -0.12  # metres: where the base stands, its front 2 cm from the table's edge
HOME_BASE = np.array([BASE_X, 0.0, 0.0])  # where the base stands when the arms' home posture is solved
BASE_Y_START = (-0.1, 0.1)  # metres: the base starts anywhere in this range, facing the table
# tool centre points at the start, base frame (m): above the table's near edge, pointing down
HOME_TCP = {"left": np.array([0.32, 0.26, 1.0]), "right": np.array([0.32, -0.26, 1.0])}
HOME_CLOSING = np.pi / 2  # radians: at home the fingers close along the base's y axis
SETTLE_STEPS = 4  # control steps of physics after the table is set, before the episode starts
STEPS_PER_OBJECT = 240  # control steps (12 s) allowed per object a task moves ...
STEPS_BASE = 120  # ... plus this many
INVALID_STEPS = 200  # control steps an invalid request runs before it is truncated


class TidyEnv(ByteMiniControl, CameraEnv):
    """Table tidying with the ByteMini: a long table with dishes, cutlery, rubbish and leftover food,
    a dish tub on the table, a rubbish bin standing beside its end, and a tray brought out when a
    task names it. Objects along the whole table: the base has to move.

    ## Description
    A task (``envs.tidy.tasks``) is chosen at reset: ``clear_table`` (every object to where it
    belongs: dishes and cutlery into the tub, rubbish and food into the bin), or a request that moves
    one object, several objects, objects to several destinations, objects onto the tray (the
    destination never seen in training), or names something that is not on the table (invalid: the
    right behaviour is to touch nothing). The instruction phrases the task (``envs.tidy.language``).

    ## Randomizations
    Which objects are out (those the task names plus others, six in all by default), where they
    stand and their headings, and where along the table the base starts. Scenes A and B place the
    tub and bin at opposite ends. Generalization axes (``envs.tidy.variations.AXES``: object set,
    object count, clutter, table appearance, lighting, background) apply only when asked for, with
    ``reset(options={"variations": {axis: value}})``, and are recorded in ``info["variations"]``.

    ## Success
    An object is placed when its centre of mass is inside the container and the gripper does not
    touch it. ``info["progress"]`` is the fraction of the task's objects placed where the task says
    (GR-3's average task progress), ``info["subtasks"]`` each one's outcome, ``info["success"]`` all
    of them. An invalid request succeeds while no object has moved more than 2 cm or been grasped;
    it never terminates. An episode terminates on success and is truncated after
    ``120 + 240 x objects to move`` steps (200 for an invalid request), ``info["max_steps"]``.

    ## Observation space
    ``rgb_head`` (224x224x3 uint8), ``rgb_left_wrist`` and ``rgb_right_wrist`` (128x128x3) unless
    cameras are switched off. ``robot_obs`` (39,): base x, y (m, world) and yaw (rad); base forward
    and leftward speed (m/s, robot frame) and yaw rate (rad/s); lift (m); head pan and tilt (rad);
    left arm's 7 joints, right arm's 7 joints (rad); left and right gripper opening (m); left tool
    centre point position (m) and euler angles (rad, extrinsic xyz), both in the base frame (x
    forward, y left, z up, origin on the floor under the base); the same for the right; last left
    and right gripper commands (+1 open, -1 close). ``scene_obs`` (84,; privileged, never given to
    learned agents): for the tub, the bin and the tray, out (1/0) and the centre of its floor (m);
    then 9 object slots, each present (1/0), kind index (``envs.tidy.objects.KIND_INDEX``), centre
    of mass (m) and euler angles (rad). ``instruction``: the task in words.

    ## Action space
    ``action_mode="joint"`` (default), 19-D, as GR-3 commands the robot: base forward and leftward
    velocity (m/s, robot frame, limit 0.5) and yaw rate (rad/s, limit 1.0); left arm's 7 joint
    position targets (rad, absolute, clipped to the joint ranges; the servo target moves towards
    them at most 2 rad/s); right arm's 7; left and right gripper. ``action_mode="ee"``, 17-D: the
    same base velocities; left tool centre point's relative motion, xyz (0.02 m per unit) and
    extrinsic-xyz euler rotation (0.05 rad per unit, applied before the current orientation), both
    in the base frame and clipped to [-1, 1], relative to the measured pose as CALVIN's; the same
    for the right; then the two grippers. Grippers, both modes: >= 0 opens, < 0 closes (+1 open, -1 close). The
    lift and head are held at their configured poses (``lift``, ``head``). Control runs at 20 Hz,
    20 physics steps of 2.5 ms each. ``env.unwrapped.action_spec`` says all this as data.

    ## Arguments
    ``task``: default task (else ``clear_table``); ``scene``: ``A`` or ``B``; ``cameras``: subset of
    ``("head", "left_wrist", "right_wrist")``; ``resolution``: dict camera -> int or (height, width);
    ``action_mode``: ``joint`` or ``ee``; ``instruction_split``: ``train`` or ``eval`` phrasings;
    ``lift`` (m, 0-0.3) and ``head`` ((pan, tilt), rad): the poses they are held at.

    ## Version history
    v0: first release.
    """

    render_camera = "head"
    metadata = {"render_modes": ["rgb_array"], "render_fps": int(round(1 / CONTROL_DT))}
    control_dt = CONTROL_DT

    def __init__(
        self,
        task: str | None = None,
        scene: str = "A",
        cameras: tuple[str, ...] | list[str] = CAMERAS,
        resolution: dict[str, int | tuple[int, int]] | None = None,
        action_mode: str = "joint",
        instruction_split: str = "train",
        lift: float = LIFT_HEIGHT,
        head: tuple[float, float] = (HEAD_PAN, HEAD_TILT),
        render_mode: str | None = None,
    ):
        self._init_kwargs = dict(
            task=task,
            scene=scene,
            cameras=tuple(cameras),
            resolution=resolution,
            action_mode=action_mode,
            instruction_split=instruction_split,
            lift=lift,
            head=tuple(head),
            render_mode=render_mode,
        )
        if task is not None:
            get_task(task)
        get_scene(scene)
        self._init_control(action_mode, lift, head)
        self._init_common(task, scene, cameras, resolution, instruction_split, render_mode, DEFAULT_RESOLUTION)
        self.observation_space = self._observation_space(robot_obs=39, scene_obs=12 + 8 * MAX_OBJECTS)
        self._sims: dict[str, TidySim] = {}
        self._home_q: dict[str, dict[str, np.ndarray]] = {}
        self.action_space, self.action_spec = action_space(
            self._sim_for(self.default_scene).robot, action_mode, self.lift, self.head, CONTROL_DT
        )
        self.sim: TidySim | None = None
        self.task: TidyTask | None = None
        self.goals: tuple[tuple[str, str], ...] = ()
        self.initial_state: dict[str, Any] = {}
        self.max_steps = 0
        self._steps = 0
        self._start = None

    # --- scene management ------------------------------------------------------------------
    def _sim_for(self, scene: str) -> TidySim:
        if scene not in self._sims:
            sim = TidySim(get_scene(scene))
            self._sims[scene] = sim
            self._home_q[scene] = home_posture(sim, HOME_BASE, self.lift, self.head, HOME_TCP, HOME_CLOSING)
        return self._sims[scene]

    # --- gym API ---------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = checked_options(options, ("task", "scene", "instruction", "variations"))
        variations = check_variations(options.get("variations"))
        task = get_task(options.get("task", self.default_task) or CLEAR_TABLE)
        instruction = checked_instruction(options.get("instruction"))
        sim = self._sim_for(str(options.get("scene", self.default_scene)))
        self.variations = apply_variations(sim, variations)
        rng = self.np_random
        count = self.variations.get("object_count", DEFAULT_OBJECT_COUNT)
        fraction = self.variations.get("object_set", {}).get("unseen_fraction", 0.0)
        kinds = choose_objects(task, count, fraction, rng)
        objects = place_objects(sim.scene, kinds, task.uses_tray, rng)
        base = np.array([BASE_X, rng.uniform(*BASE_Y_START), 0.0])
        self.instruction = instruction or str(rng.choice(instructions(task.name, self.instruction_split)))
        # clutter last, so that adding it leaves everything else of the episode as it was
        clutter = place_clutter(sim.scene, self.variations.get("clutter", []), objects, task.uses_tray, rng)

        mujoco.mj_resetData(sim.model, sim.data)
        sim.arrange(objects, clutter, tray=task.uses_tray)
        sim.robot.place(sim.data, base, self.lift, self.head, self._home_q[sim.scene.name])
        sim.last_gripper_action = {side: 1.0 for side in SIDES}
        sim.forward()
        for _ in range(SETTLE_STEPS):
            sim.step()
        self.sim, self.task = sim, task
        self.goals = task.goals_for(sim.objects)
        self.initial_state = {
            "objects": [p.as_list() for p in objects],
            "clutter": [p.as_list() for p in clutter],
            "base": [float(v) for v in base],
        }
        self.max_steps = _step_budget(task, self.goals)
        self._steps = 0
        self._start = sim.snapshot()
        return self._observation(), self._info(*self._evaluate())

    def step(self, action):
        self._apply_action(action)
        self.sim.step()
        self._steps += 1
        success, progress, subtasks = self._evaluate()
        terminated = success and self.task.category != "invalid"
        truncated = self._steps >= self.max_steps and not terminated
        return self._observation(), float(success), terminated, truncated, self._info(success, progress, subtasks)

    def untouched(self) -> bool:
        """Whether no object on the table has moved more than 2 cm or is held since the task began:
        what an impossible request asks of the robot, whatever the task (for evaluators)."""
        if self.sim is None:
            raise RuntimeError("call reset() before untouched()")
        return untouched(self.sim.objects, self._start, self.sim.snapshot())

    def begin_task(self, task: str, instruction: str | None = None) -> dict[str, Any]:
        """Start another request on the table as it is now, without a reset (for chains of
        instructions). It may only name objects on the table, and the tray only if it is out.
        Returns the observation with the new instruction."""
        if self.sim is None:
            raise RuntimeError("call reset() before begin_task()")
        parsed = get_task(task)
        missing = [k for k in parsed.named_kinds if k not in self.sim.objects]
        if missing:
            on_table = ", ".join(self.sim.objects)
            raise ValueError(f"task {task!r} names {missing}, which are not on the table ({on_table})")
        if parsed.uses_tray and not self.sim.tray_out:
            raise ValueError(f"task {task!r} needs the tray, which is only brought out at reset")
        self.task = parsed
        self.goals = parsed.goals_for(self.sim.objects)
        instruction = checked_instruction(instruction)
        self.instruction = instruction or str(self.np_random.choice(instructions(task, self.instruction_split)))
        self._start = self.sim.snapshot()
        self._steps = 0
        self.max_steps = _step_budget(parsed, self.goals)
        return self._observation()

    def _evaluate(self) -> tuple[bool, float, list]:
        return self.task.evaluate(self.sim.objects, self._start, self.sim.snapshot())

    def _info(self, success: bool, progress: float, subtasks: list) -> dict[str, Any]:
        return {
            "success": bool(success),
            "progress": progress,
            "subtasks": subtasks,
            "task": self.task.name,
            "category": self.task.category,
            "scene": self.sim.scene.name,
            "instruction": self.instruction,
            "objects": list(self.sim.objects),
            "max_steps": self.max_steps,
            # new objects per call: callers keep infos
            "initial_state": copy.deepcopy(self.initial_state),
            "variations": copy.deepcopy(self.variations),
        }

    # --- pickling: rebuild the simulator, then restore its full state ------------------------
    def __getstate__(self):
        state = {"kwargs": self._init_kwargs, "np_random": self._np_random}
        if self.sim is not None:
            sim = self.sim
            physics = save_physics(sim.model, sim.data)
            state.update(
                scene=sim.scene.name,
                physics=physics,
                task=self.task.name,
                instruction=self.instruction,
                variations=self.variations,
                initial_state=self.initial_state,
                start=self._start,
                steps=(self._steps, self.max_steps),
                grippers=dict(sim.last_gripper_action),
            )
        return state

    def __setstate__(self, state):
        self.__init__(**state["kwargs"])
        self._np_random = state["np_random"]
        if "scene" in state:
            sim = self.sim = self._sim_for(state["scene"])
            self.variations = apply_variations(sim, state["variations"])
            self.initial_state = state["initial_state"]
            self.task = get_task(state["task"])
            sim.arrange(
                [Placement(*p) for p in self.initial_state["objects"]],
                [Placement(*p) for p in self.initial_state["clutter"]],
                tray=self.task.uses_tray,
            )
            restore_physics(sim.model, sim.data, state["physics"])
            self.goals = self.task.goals_for(sim.objects)
            self.instruction = state["instruction"]
            self._start = state["start"]
            self._steps, self.max_steps = state["steps"]
            sim.last_gripper_action = state["grippers"]


def _step_budget(task: TidyTask, goals: tuple[tuple[str, str], ...]) -> int:
    """Control steps before the episode is truncated."""
    return INVALID_STEPS if task.category == "invalid" else STEPS_BASE + STEPS_PER_OBJECT * len(goals)
