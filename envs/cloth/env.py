"""Deformable cloth on a table with the Franka Panda: flatten and fold, by language request."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import mujoco
import numpy as np
from gymnasium import spaces

from envs.cloth.garments import SHAPES, Garment
from envs.cloth.language import instructions
from envs.cloth.sim import CONTROL_DT, MAX_VERTICES, VERTEX_RADIUS, ClothSim, ClothSnapshot
from envs.cloth.tasks import Scorer, get_task, untouched
from envs.cloth.variations import DEFAULT_CRUMPLE, GARMENT_AXES, check_variations
from envs.cloth.variations import apply as apply_variations
from envs.errors import unknown_name_error
from envs.utils.conventions import MAX_REL_ORN, MAX_REL_POS, checked_action, checked_instruction, checked_options
from envs.utils.physics_state import restore_physics, save_physics
from envs.utils.rendering import CameraEnv
from envs.utils.rotations import euler_to_mat, topdown_mat

CAMERAS = ("static", "gripper")
DEFAULT_RESOLUTION = {"static": 200, "gripper": 84}  # pixels, as the tabletop's
# each scene is a garment at scale 1; garment_size scales width and length
GARMENTS = {
    "square": Garment("square", 0.3, 0.3, count=20),
    "towel": Garment("towel", 0.4, 0.25, count=20),
    "tshirt": Garment("tshirt", 0.45, 0.4, count=20, rgb=(0.2, 0.4, 0.8)),
}
SHAPE_INDEX = {shape: i for i, shape in enumerate(SHAPES)}
CLOTH_CENTRE = np.array([0.0, -0.12])  # metres: where garments are laid out, within the arm's easy reach
CENTRE_JITTER = 0.04  # metres either way
YAW_JITTER = np.deg2rad(15)  # radians either way
HOME_TCP = np.array([0.0, -0.3, 0.25])  # metres
HOME_YAW = np.pi / 2
SETTLE_STEPS = 10  # control steps of physics after the garment is laid out
CRUMPLE_LAYER = 2 * VERTEX_RADIUS  # metres each random fold lifts the layer it lays down
WORKSPACE_LOW = np.array([-0.5, -0.4, 0.0])  # metres: TCP targets are clipped to this box
WORKSPACE_HIGH = np.array([0.5, 0.25, 0.5])


class ClothTaskEnv(CameraEnv):
    """What the cloth tables' environments share, whatever robot stands at them: the reset, chaining tasks on
    the garment as it lies, the impossible-request judgement, observations and ``info``. A
    subclass sets ``render_camera``, ``layout_centre`` and ``_sim_for``, lays out an episode
    (``_lay_out(sim, garment, task, state)``: in a freshly reset ``sim``, its robot at home and the
    garment as ``state`` says) and, where its robot differs, the other hooks
    below."""

    render_camera = "static"
    layout_centre = CLOTH_CENTRE  # world xy (m) garments are laid out about

    # --- the episode -----------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = checked_options(options, ("task", "scene", "instruction", "variations", "initial_state"))
        variations = check_variations(options.get("variations"))
        task = self._parse_task(options.get("task", self.default_task) or "flatten")
        scene = options.get("scene", self.default_scene)
        if "garment_shape" in variations:  # the shape axis is the scene, as the tabletop's layout is
            if "scene" in options and options["scene"] != variations["garment_shape"]:
                raise ValueError(
                    f"reset options name scene {options['scene']!r} but the garment_shape variation "
                    f"{variations['garment_shape']!r}; give one of them"
                )
            scene = variations["garment_shape"]
        scene = check_scene(str(scene))
        instruction = checked_instruction(options.get("instruction"))
        garment = scene_garment(scene, variations)
        if not task.feasible(garment):
            raise ValueError(infeasible_message(task, garment))
        sim = self._sim_for(garment)
        sim.set_material(garment)
        self.variations = apply_variations(sim, variations)
        rng = self.np_random
        crumple = crumple_of(variations) if task.name == "flatten" else {"folds": 0, "lines": "any"}
        state = options.get("initial_state") or draw_layout(garment, crumple, rng, self.layout_centre)
        self.instruction = instruction or str(rng.choice(instructions(task.name, self.instruction_split, scene)))

        mujoco.mj_resetData(sim.model, sim.data)
        sim.release()
        self._lay_out(sim, garment, task, state)
        sim.place_rack(task.category == "hang")
        sim.forward()
        for _ in range(SETTLE_STEPS):
            sim.step()
        self.sim, self.garment, self.task = sim, garment, task
        self.initial_state = copy.deepcopy(state)
        self.scorer = self._scorer(task, sim.snapshot())
        self.max_steps = task_budget(task, garment)
        self._steps = 0
        return self._observation(), self._info(*self.scorer.evaluate(sim.snapshot()))

    def _parse_task(self, name: str):
        """The task called ``name`` (a subclass refuses the tasks its robot has none of)."""
        return get_task(name)

    def _scorer(self, task, start: ClothSnapshot, hang: dict | None = None) -> Scorer:
        """The scorer of ``task`` on this episode's garment from ``start``, with this sim's rack
        and table (``hang``: the hang milestones' saved state, when restoring)."""
        sim = self.sim
        return Scorer(task, self.garment, start, size_scale(self.garment), hang, sim.rack, sim.table_z)

    def _task_begins(self, task) -> None:
        """Set the scene for ``task`` before it is scored (``begin_task``): the rack is brought in
        for the hang and taken away after."""
        self.sim.place_rack(task.category == "hang")
        self.sim.forward()

    def _held_info(self):
        """``info["held"]``: how many vertices the hand holds."""
        return len(self.sim.held())

    def untouched(self) -> bool:
        """Nothing held and no vertex moved more than 2 cm since the task began (how an impossible
        request is judged)."""
        if self.sim is None:
            raise RuntimeError("call reset() before untouched()")
        return untouched(self.scorer.start, self.sim.snapshot())

    def begin_task(self, task: str, instruction: str | None = None) -> dict[str, Any]:
        """Start another task on the garment as it lies now, without a reset (chains: flatten, then
        fold). Returns the observation with the new instruction."""
        if self.sim is None:
            raise RuntimeError("call reset() before begin_task()")
        parsed = self._parse_task(task)
        if not parsed.feasible(self.garment):
            raise ValueError(infeasible_message(parsed, self.garment))
        instruction = checked_instruction(instruction)
        self.task = parsed
        self.instruction = instruction or str(
            self.np_random.choice(instructions(task, self.instruction_split, self.garment.shape))
        )
        self._task_begins(parsed)
        self.scorer = self._scorer(parsed, self.sim.snapshot())
        self.max_steps = task_budget(parsed, self.garment)
        self._steps = 0
        return self._observation()

    # --- pickling: rebuild the simulator, then restore its full state ------------------------
    def __getstate__(self):
        state = {"kwargs": self._init_kwargs, "np_random": self._np_random}
        if self.sim is not None:
            sim = self.sim
            state.update(
                garment=dataclasses.asdict(self.garment),
                physics=save_physics(sim.model, sim.data),
                anchors=sim.grasp_anchors(),  # where held vertices hang on the hand(s)
                task=self.task.name,
                instruction=self.instruction,
                variations=self.variations,
                initial_state=self.initial_state,
                start=self.scorer.start,
                hang=None if self.scorer.hang is None else self.scorer.hang.state(),
                steps=(self._steps, self.max_steps),
                gripper=copy.deepcopy(sim.last_gripper_action),
            )
        return state

    def __setstate__(self, state):
        self.__init__(**state["kwargs"])
        self._np_random = state["np_random"]
        if "garment" in state:
            garment = Garment(**{**state["garment"], "rgb": tuple(state["garment"]["rgb"])})
            sim = self.sim = self._sim_for(garment)
            sim.set_material(garment)
            self.garment = garment
            self.variations = apply_variations(sim, state["variations"])
            sim.set_grasp_anchors(state["anchors"])
            restore_physics(sim.model, sim.data, state["physics"])
            self.task = get_task(state["task"])
            self.instruction = state["instruction"]
            self.initial_state = state["initial_state"]
            self.scorer = self._scorer(self.task, state["start"], state.get("hang"))
            self._steps, self.max_steps = state["steps"]
            sim.last_gripper_action = copy.deepcopy(state["gripper"])

    # --- observations ----------------------------------------------------------------------
    def _scene_obs(self) -> np.ndarray:
        return self.sim.scene_obs(SHAPE_INDEX[self.garment.shape])

    def _info(self, success: bool, progress: float, details: dict) -> dict[str, Any]:
        return {
            "success": bool(success),
            "progress": float(progress),
            "task": self.task.name,
            "category": self.task.category,
            "scene": self.garment.shape,
            "instruction": self.instruction,
            "held": self._held_info(),
            "score": {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in details.items()},
            "max_steps": self.max_steps,
            "initial_state": copy.deepcopy(self.initial_state),
            "variations": copy.deepcopy(self.variations),
        }


class ClothEnv(ClothTaskEnv):
    """A garment on a table in front of a Franka Panda, to flatten, fold or hang on a rack as asked.

    ## Description
    The garment is a MuJoCo flex sheet (``envs.cloth.sim``: membrane and bending elasticity, no
    self-collision) of one of three shapes, the scenes: ``square`` (0.3 m cloth), ``towel``
    (0.4 x 0.25 m) and ``tshirt`` (a T-shirt outline, 0.45 x 0.4 m; held out of training). Tasks
    (``envs.cloth.tasks``): ``flatten`` a garment that starts crumpled; ``fold_in_half`` and
    ``fold_diagonally`` (square only) a garment that starts flat; ``hang`` a garment that starts
    flat over the bar of a rack left of it (0.25 m above the table; the rack is there only for this
    task, brought in by ``begin_task`` in a chain); and two invalid requests (``absent_garment``,
    ``impossible_fold``) whose right answer is to touch nothing.

    ## The grasp rule
    The cloth collides with the table and the rack's bar only (the robot passes through it), so a closed gripper
    whose pads have closed to 3 cm or less attaches the vertices of one sheet between its pads
    where they are; opening lets go. Nothing is attached by an open
    gripper or one closed away from the cloth. (As SoftGym's pickers do; ``envs.cloth.sim``.)

    ## Randomizations
    Where the garment lies (its centre within 4 cm of (0, -0.12) m, heading within 15 degrees), and
    for ``flatten`` the random folds it starts with (``crumple``, default one fold along a line
    within 30 degrees of a side: each fold reflects the part of the sheet beyond the line, a layer
    up). Axes
    (``envs.cloth.variations``: garment_size, stiffness, crumple, colour, lighting, table) apply
    when asked for, through ``reset(options={"variations": ...})``, and are in ``info``.

    ## Success
    ``flatten``: normalised coverage of the top-down projection, ``(A_t - A_0) / (A_max - A_0)``,
    at least 0.85 with nothing held. Folds: the moving part's vertices within 4 cm on average of
    their mirror vertices, the other part moved 3 cm or less, nothing held. ``info["progress"]``
    grades it (normalised coverage; the best fold's ``1 - d_t/d_0``). Invalid requests: success
    while nothing is held and no vertex moved more than 2 cm; they never terminate. ``hang``:
    milestones grasped, lifted (mean height 10 cm, held), over the bar (resting on it, hanging
    down both sides), and released and hanging still (no vertex faster than 2 cm/s) for 2 s, the
    success; progress is the share reached. Budgets (``info["max_steps"]``): flatten 400 steps,
    fold in half 300, diagonal 200, hang 400, invalid 150, each
    times the garment's scale where it is larger than its scene's (``garment_size``).

    ## Observation space
    As the tabletop's: ``rgb_static`` (200x200x3), ``rgb_gripper`` (84x84x3), ``robot_obs`` (15,:
    TCP position (m) and euler angles (rad), gripper opening (m), 7 joints (rad), last gripper
    action); ``scene_obs`` (1202,; privileged, never given to learned agents): the garment's shape
    index, its vertex count, then every vertex's xyz (m), zeros past the count; ``instruction``.

    ## Action space
    As the tabletop's relative mode, 7-D in [-1, 1]: TCP motion xyz (0.02 m per unit) and
    extrinsic-xyz rotation (0.05 rad per unit) in the world frame, gripper (>= 0 open). Control
    runs at 20 Hz: 5 physics steps of 10 ms.

    ## Arguments
    ``task`` (default ``flatten``), ``scene`` (garment shape, default ``square``), ``cameras``,
    ``resolution``, ``instruction_split`` (``train`` or ``eval``), ``render_mode``.

    ## Version history
    v0: first release (Panda; flatten, folds and hang).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": int(round(1 / CONTROL_DT))}
    action_mode = "relative"  # the tabletop's relative mode; the only one

    def __init__(
        self,
        task: str | None = None,
        scene: str = "square",
        cameras: tuple[str, ...] | list[str] = CAMERAS,
        resolution: dict[str, int | tuple[int, int]] | None = None,
        instruction_split: str = "train",
        render_mode: str | None = None,
    ):
        self._init_kwargs = dict(
            task=task,
            scene=scene,
            cameras=tuple(cameras),
            resolution=resolution,
            instruction_split=instruction_split,
            render_mode=render_mode,
        )
        if task is not None:
            get_task(task)
        check_scene(scene)
        self._init_common(task, scene, cameras, resolution, instruction_split, render_mode, DEFAULT_RESOLUTION)
        self.observation_space = self._observation_space(robot_obs=15, scene_obs=2 + 3 * MAX_VERTICES)
        self.action_space = spaces.Box(-1.0, 1.0, (7,), np.float32)
        self.action_spec = {
            "shape": (7,),
            "mode": "relative",
            "layout": ["x", "y", "z", "euler_x", "euler_y", "euler_z", "gripper"],
            "frame": "world",
            "units": f"relative: {MAX_REL_POS} m and {MAX_REL_ORN} rad per unit, clipped to [-1, 1]",
            "gripper": "+1 open, -1 close (>= 0 opens)",
            "control_hz": 1 / CONTROL_DT,
        }
        self._sims: dict[tuple, ClothSim] = {}
        self._home_q: dict[tuple, np.ndarray] = {}
        self.sim: ClothSim | None = None
        self.garment: Garment | None = None
        self.scorer: Scorer | None = None
        self.initial_state: dict[str, Any] = {}
        self.max_steps = 0
        self._steps = 0

    # --- scene management ------------------------------------------------------------------
    def _sim_for(self, garment: Garment) -> ClothSim:
        key = garment.geometry_key
        if key not in self._sims:
            sim = ClothSim(garment)
            self._sims[key] = sim
            self._home_q[key] = _home_posture(sim)
        return self._sims[key]

    # --- gym API ---------------------------------------------------------------------------
    def _lay_out(self, sim: ClothSim, garment: Garment, task, state: dict[str, Any]) -> None:
        """The arm at home, the garment as ``state`` says."""
        sim.arm.place(sim.data, self._home_q[garment.geometry_key], gripper_open=True)
        sim.set_particles(laid_out(garment, state))
        sim.last_gripper_action = 1.0

    def step(self, action):
        if self.sim is None:
            raise RuntimeError("call reset() before step()")
        action = checked_action(action, (7,), "xyz, euler xyz, gripper")
        sim, data = self.sim, self.sim.data
        rel = np.clip(action, -1.0, 1.0)
        pos, mat = sim.arm.tcp_pose(data)
        target_pos = np.clip(pos + rel[:3] * MAX_REL_POS, WORKSPACE_LOW, WORKSPACE_HIGH)
        target_mat = euler_to_mat(rel[3:6] * MAX_REL_ORN) @ mat
        sim.arm.set_joint_targets(data, sim.arm.solve_ik(data, target_pos, target_mat))
        gripper_open = bool(action[6] >= 0)
        sim.arm.set_gripper(data, gripper_open)
        sim.last_gripper_action = 1.0 if gripper_open else -1.0
        sim.step()
        sim.update_grasp(closed=not gripper_open)
        self._steps += 1
        success, progress, details = self.scorer.evaluate(sim.snapshot())
        terminated = success and self.task.category != "invalid"
        truncated = self._steps >= self.max_steps and not terminated
        return self._observation(), float(success), terminated, truncated, self._info(success, progress, details)

    def no_op_action(self) -> np.ndarray:
        """Zero motion, gripper open."""
        action = np.zeros(7)
        action[6] = 1.0
        return action


def infeasible_message(task, garment: Garment) -> str:
    if task.category == "hang":
        return f"task 'hang' is not set for a {garment.shape} (square and towel only: docs/cloth.md)"
    return f"task {task.name!r} has no fold on a {garment.shape}; its folds: {', '.join(garment.folds)}"


def size_scale(garment: Garment) -> float:
    """The garment's size as a multiple of its scene's (the ``garment_size`` variation; 1 without)."""
    return garment.width / GARMENTS[garment.shape].width


def task_budget(task, garment: Garment) -> int:
    """Control steps before truncation: the task's, longer in proportion for a garment larger than
    its scene's (carries are longer); never shorter."""
    return int(round(task.steps * max(1.0, size_scale(garment))))


def check_scene(scene: str) -> str:
    if scene not in GARMENTS:
        raise unknown_name_error("cloth scene (garment shape)", scene, tuple(GARMENTS))
    return scene


def scene_garment(scene: str, variations: dict[str, Any]) -> Garment:
    """The scene's garment with the garment axes' values (scale and stiffness) applied."""
    from envs.cloth.variations import AXES

    base = GARMENTS[scene]
    values = {name: AXES[name].apply(None, variations[name]) for name in GARMENT_AXES if name in variations}
    scale = values.get("garment_size", 1.0)
    return Garment(
        base.shape,
        round(base.width * scale, 6),
        round(base.length * scale, 6),
        count=base.count,
        young=base.young * values.get("stiffness", 1.0),
        friction=base.friction,
        rgb=base.rgb,
    )


def crumple_of(variations: dict[str, Any]) -> dict[str, Any]:
    from envs.cloth.variations import AXES

    return AXES["crumple"].apply(None, variations.get("crumple", DEFAULT_CRUMPLE))


def _fold_angle(lines: str, rng: np.random.Generator) -> float:
    """A fold line's angle (rad, garment frame): within 30 degrees of a side (``axis``), 30-60
    degrees off every side (``diagonal``), or any."""
    if lines == "any":
        return float(rng.uniform(0, np.pi))
    side = rng.integers(2) * np.pi / 2  # near the x or the y axis
    off = rng.uniform(0, np.pi / 6) if lines == "axis" else rng.uniform(np.pi / 6, np.pi / 3)
    return float((side + rng.choice([-1, 1]) * off) % np.pi)


def draw_layout(
    garment: Garment, crumple: dict[str, Any], rng: np.random.Generator, centre: np.ndarray = CLOTH_CENTRE
) -> dict[str, Any]:
    """Where the garment lies (within ``CENTRE_JITTER`` of ``centre``, world xy) and the random
    folds it starts with, as plain JSON: ``pose`` [x, y, yaw] and ``folds``, each [angle of the
    fold line's normal (rad), its offset from the centre as a fraction of the garment's half size,
    which side (+1/-1) is laid over]."""
    centre = centre + rng.uniform(-CENTRE_JITTER, CENTRE_JITTER, 2)
    yaw = rng.uniform(-YAW_JITTER, YAW_JITTER)
    folds = [
        [
            round(_fold_angle(crumple["lines"], rng), 6),
            round(float(rng.uniform(-0.4, 0.4)), 6),
            int(rng.choice([-1, 1])),
        ]
        for _ in range(crumple["folds"])
    ]
    return {"pose": [round(float(centre[0]), 6), round(float(centre[1]), 6), round(float(yaw), 6)], "folds": folds}


def laid_out(garment: Garment, state: dict[str, Any]) -> np.ndarray:
    """(N, 3) vertex positions of the garment laid out as ``state`` says: folded flat along each
    fold line in turn (a reflection, which keeps every distance within a layer), then posed."""
    return crumple_stages(garment, state)[-1]


def crumple_stages(garment: Garment, state: dict[str, Any]) -> list[np.ndarray]:
    """The garment laid out as ``state`` says after 0, 1, ... of its random folds: (N, 3) vertex
    positions each, all posed alike (the flat garment centred on the pose). The scripted expert
    undoes the folds from these (privileged: the episode's recorded start)."""
    p = np.c_[garment.points, np.full(len(garment.points), VERTEX_RADIUS)]
    half = 0.5 * max(garment.width, garment.length)
    stages = [p.copy()]
    for angle, offset, side in state["folds"]:
        normal = np.array([np.cos(angle), np.sin(angle)])
        centre = p[:, :2].mean(axis=0)
        signed = (p[:, :2] - centre) @ normal - offset * half
        over = side * signed > 0
        p[over, :2] -= 2 * np.outer(signed[over], normal)
        # the flap turns over onto the top of the pile: its lowest layer becomes the highest
        p[over, 2] = p[:, 2].max() + CRUMPLE_LAYER + (p[over, 2].max() - p[over, 2])
        stages.append(p.copy())
    x, y, yaw = state["pose"]
    c, s = np.cos(yaw), np.sin(yaw)
    # the flat garment centred on the pose, not the pile: where flattening must lay it stays in the
    # arm's reach (a pile centred there put the T-shirt's spread-out far edge beyond it)
    shift = stages[0][:, :2].mean(axis=0)
    rot = np.array([[c, s], [-s, c]])
    return [np.c_[(q[:, :2] - shift) @ rot + [x, y], q[:, 2]] for q in stages]


def _home_posture(sim: ClothSim) -> np.ndarray:
    """Joint angles that put the TCP at the home pose, pointing down."""
    from envs.robots.panda import REST_POSTURE

    sim.arm.place(sim.data, REST_POSTURE, gripper_open=True)
    sim.forward()
    q = sim.arm.solve_ik(sim.data, HOME_TCP, topdown_mat(HOME_YAW), iterations=50)
    sim.arm.place(sim.data, q, gripper_open=True)
    sim.forward()
    return q
