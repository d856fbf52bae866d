"""Deformable cloth with ByteMini, both arms: the Panda cloth table's garments and tasks, bimanual."""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.cloth.env import (
    ClothTaskEnv,
    check_scene,
    crumple_stages,
    scene_garment,
)
from envs.cloth.garments import Garment
from envs.cloth.sim import MAX_VERTICES
from envs.cloth.tasks import Scorer, get_task
from envs.cloth_bytemini.sim import CONTROL_DT, TABLE_Z, ClothRoomSim
from envs.robots.bytemini import HEAD_PAN, HEAD_TILT, LIFT_HEIGHT, SIDES
from envs.robots.bytemini_control import ByteMiniControl, action_space, home_posture

CAMERAS = ("head", "left_wrist", "right_wrist")
DEFAULT_RESOLUTION = {"head": 224, "left_wrist": 128, "right_wrist": 128}  # pixels, as the tidying room's
BASE = np.array([-0.12, 0.0, 0.0])  # metres, radians: where the base stands, its front 2 cm from the table
CLOTH_CENTRE = np.array([0.40, 0.0])  # metres (world): where garments are laid out, between the hands
# tool centre points at the start, base frame (m), pointing down: as the tidying room's
HOME_TCP = {"left": np.array([0.32, 0.26, 1.0]), "right": np.array([0.32, -0.26, 1.0])}
HOME_CLOSING = 0.0  # radians: at home the fingers close along the base's x axis (towards the garment)


class ClothByteMiniEnv(ByteMiniControl, ClothTaskEnv):
    """A garment on a table in front of ByteMini, to flatten or fold with both arms as asked.

    ## Description
    The Panda cloth table's garments, tasks, language and axes (``envs.cloth``), in the cloth room
    (``envs/assets/cloth_room.xml``): a table 0.74 m high, ByteMini standing at its near edge. The
    garment is the same flex sheet (``envs.cloth_bytemini.sim``); scenes ``square``, ``towel`` and
    ``tshirt`` (held out). Tasks: ``flatten``, ``fold_in_half``, ``fold_diagonally``, ``hang`` (on
    a rack standing on the table at the robot's left, its bar along x 0.25 m above the table,
    brought in for this task only; square and towel) and the two invalid requests.

    ## The grasp rule
    Per hand, as the Panda's: a closed gripper whose pads have closed to 3 cm or less attaches the
    vertices of one sheet between its pads where they are; opening lets go. The cloth touches the
    table and the rack only; the robot passes through it. Both hands may hold it at once.

    ## Randomizations
    Where the garment lies (its centre within 4 cm of (0.40, 0) m, heading within 15 degrees) and,
    for ``flatten``, the random folds it starts with; the axes of ``envs.cloth.variations`` apply
    when asked for, through ``reset(options={"variations": ...})``, and are in ``info``.

    ## Success
    As the Panda cloth table's (``envs.cloth.tasks.Scorer``): normalised coverage >= 0.85 for
    flatten; the moving part within 4 cm of its mirror and the rest moved 3 cm or less for folds;
    nothing held; for hang the milestones grasped, lifted (10 cm above the table), over the bar
    and hanging still for 2 s. Invalid requests: nothing held and nothing moved more than 2 cm; they never
    terminate. Budgets as the Panda's, ``info["max_steps"]``.

    ## Observation space
    As the tidying room's: ``rgb_head`` (224x224x3), ``rgb_left_wrist`` and ``rgb_right_wrist``
    (128x128x3), ``robot_obs`` (39,: ``envs.tidy.env.TidyEnv``'s layout); ``scene_obs`` (1202,;
    privileged, never given to learned agents): the garment's shape index, its vertex count, then
    every vertex's xyz (m), zeros past the count; ``instruction``.

    ## Action space
    As the tidying room's (``envs.robots.bytemini_control``): ``joint`` (default, 19-D, GR-3's
    command: base velocities, 14 arm joint targets, 2 grippers) or ``ee`` (17-D: relative tool
    motions in the base frame). Control runs at 20 Hz: 5 physics steps of 10 ms (the cloth's
    integrator).

    ## Arguments
    ``task`` (default ``flatten``), ``scene`` (garment shape, default ``square``), ``cameras``,
    ``resolution``, ``action_mode``, ``instruction_split`` (``train`` or ``eval``), ``lift``,
    ``head``, ``render_mode``.

    ## Version history
    v0: first release (flatten and folds); hang added (no episode of the other tasks changes).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": int(round(1 / CONTROL_DT))}
    control_dt = CONTROL_DT
    layout_centre = CLOTH_CENTRE
    render_camera = "head"

    def __init__(
        self,
        task: str | None = None,
        scene: str = "square",
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
        check_scene(scene)
        self._init_control(action_mode, lift, head)
        self._init_common(task, scene, cameras, resolution, instruction_split, render_mode, DEFAULT_RESOLUTION)
        self.observation_space = self._observation_space(robot_obs=39, scene_obs=2 + 3 * MAX_VERTICES)
        self._sims: dict[tuple, ClothRoomSim] = {}
        self._home_q: dict[tuple, dict[str, np.ndarray]] = {}
        default = scene_garment(scene, {})
        self.action_space, self.action_spec = action_space(
            self._sim_for(default).robot, action_mode, self.lift, self.head, CONTROL_DT
        )
        self.sim: ClothRoomSim | None = None
        self.garment: Garment | None = None
        self.scorer: Scorer | None = None
        self.initial_state: dict[str, Any] = {}
        self.max_steps = 0
        self._steps = 0

    # --- scene management ------------------------------------------------------------------
    def _sim_for(self, garment: Garment) -> ClothRoomSim:
        key = garment.geometry_key
        if key not in self._sims:
            sim = ClothRoomSim(garment)
            self._sims[key] = sim
            self._home_q[key] = home_posture(sim, BASE, self.lift, self.head, HOME_TCP, HOME_CLOSING)
        return self._sims[key]

    # --- gym API ---------------------------------------------------------------------------
    def _lay_out(self, sim: ClothRoomSim, garment: Garment, task, state: dict[str, Any]) -> None:
        """ByteMini at home, the garment as ``state`` says."""
        sim.robot.place(sim.data, BASE, self.lift, self.head, self._home_q[garment.geometry_key])
        sim.set_particles(on_table(garment, state))
        sim.last_gripper_action = {side: 1.0 for side in SIDES}

    def step(self, action):
        opened = self._apply_action(action)
        sim = self.sim
        sim.step()
        for side in SIDES:
            sim.update_grasp(side, closed=not opened[side])
        self._steps += 1
        success, progress, details = self.scorer.evaluate(sim.snapshot())
        terminated = success and self.task.category != "invalid"
        truncated = self._steps >= self.max_steps and not terminated
        return self._observation(), float(success), terminated, truncated, self._info(success, progress, details)

    def _held_info(self) -> dict[str, int]:
        """``info["held"]``: how many vertices each hand holds."""
        return {side: len(self.sim.held(side)) for side in SIDES}


def on_table(garment: Garment, state: dict[str, Any]) -> np.ndarray:
    """(N, 3) vertex positions of the garment laid out as ``state`` says, on the cloth room's table."""
    return crumple_stages(garment, state)[-1] + [0.0, 0.0, TABLE_Z]
