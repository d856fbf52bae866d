"""The tabletop's suite tracks: its episodes of every released suite version.

Each builder is the tabletop part of a suite exactly as it was released (its episodes, seeds and
hashes are held to ``leaderboards/manifest.json`` by tests/test_suite_versions.py). The `unseen`
track reads its axes and unseen ranges from ``UNSEEN_V1``, pinned here, never from the live axes
in ``variations.py``: a new axis or range reaches the suite only as a new track version.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from envs.episodes import MAX_STEPS_PER_TASK, Episode, keyed_rng, keyed_seed, rules_3
from envs.family import Track

ENV_ID = "GRBench/Tabletop-v0"
TRAINING_SCENES = ("A", "B", "C")
HELD_OUT_SCENE = "D"
INVALID_MAX_STEPS = 120  # control steps an agent is watched on an impossible request
SMOKE_TASKS = ("open_drawer", "turn_on_led", "move_slider_left", "lift_red_block_table")


def _tasks() -> list[str]:
    from envs.tabletop.tasks import TASKS

    return list(TASKS)


def _single(
    suite: str,
    task: str,
    scene: str,
    i: int,
    category: str,
    axis: str,
    instruction: str,
    variations: dict | None = None,
    max_steps: int = MAX_STEPS_PER_TASK,
) -> Episode:
    key = (suite, task, scene, category, axis, i)
    return Episode(
        episode_id="/".join([suite, axis, category, task, scene, str(i)]),
        env_id=ENV_ID,
        scene=scene,
        tasks=(task,),
        instructions=(instruction,),
        seed=keyed_seed(*key),
        instruction_category=category,
        axis=axis,
        variations=variations or {},
        max_steps=max_steps,
    )


def seen(per_scene: int = 2) -> list[Episode]:
    """Every task in training scenes A-C with training phrasings."""
    from envs.tabletop.language import instructions

    episodes = []
    for task in _tasks():
        phrasings = instructions(task, "train")
        for scene in TRAINING_SCENES:
            for i in range(per_scene):
                phrase = phrasings[int(keyed_rng("seen", task, scene, i).integers(len(phrasings)))]
                episodes.append(_single("seen", task, scene, i, "train", "none", phrase))
    return episodes


def smoke() -> list[Episode]:
    return [e for e in seen(per_scene=1) if e.tasks[0] in SMOKE_TASKS and e.scene == "A"]


def ood_instruction(per_category: int = 1) -> list[Episode]:
    """Training scenes, every instruction category (held-out language; the scene is familiar)."""
    from envs.tabletop.language import instructions
    from envs.tabletop.language_ood import OOD_CATEGORIES, invalid_instructions, ood_instructions

    episodes = []
    for task in _tasks():
        for category in ("eval", *OOD_CATEGORIES):
            for i in range(per_category):
                rng = keyed_rng("ood", task, category, i)
                scene = TRAINING_SCENES[int(rng.integers(len(TRAINING_SCENES)))]
                bank = instructions(task, "eval") if category == "eval" else ood_instructions(task, category, scene)
                phrase = bank[int(rng.integers(len(bank)))]
                episodes.append(_single("ood-instruction", task, scene, i, category, "instruction", phrase))
    # impossible requests: the initial state comes from some task, the instruction from none
    for i, phrase in enumerate(invalid_instructions()):
        rng = keyed_rng("ood", "invalid", i)
        tasks = _tasks()
        task = tasks[int(rng.integers(len(tasks)))]
        scene = TRAINING_SCENES[int(rng.integers(len(TRAINING_SCENES)))]
        episodes.append(
            _single("ood-instruction", task, scene, i, "invalid", "instruction", phrase, max_steps=INVALID_MAX_STEPS)
        )
    return episodes


def unseen(axes: tuple[tuple[str, dict[str, Any]], ...], per_axis: int = 1) -> list[Episode]:
    """Every task under every pinned unseen-scene axis, training phrasings; the layout axis is the
    held-out scene D."""
    from envs.tabletop.language import instructions
    from envs.tabletop.variations import AXES
    from envs.utils.axes import axis_named

    episodes = []
    for axis, unseen_range in axes:
        sampler = axis_named(AXES, axis).sampler
        for task in _tasks():
            phrasings = instructions(task, "train")
            for i in range(per_axis):
                rng = keyed_rng("unseen", axis, task, i)
                if axis == "layout":
                    scene, variations = HELD_OUT_SCENE, {}
                else:
                    scene = TRAINING_SCENES[int(rng.integers(len(TRAINING_SCENES)))]
                    variations = {axis: sampler(unseen_range, rng)}
                phrase = phrasings[int(rng.integers(len(phrasings)))]
                episodes.append(_single("unseen", task, scene, i, "train", axis, phrase, variations))
    return episodes


def long_horizon(chains: int = 1000) -> list[Episode]:
    """CALVIN's protocol: 5-task chains from a symbolic initial state, in the held-out scene D with
    evaluation phrasings (ABC->D), and in scenes A-D (ABCD->D)."""
    from envs.tabletop.chains import sample_chain
    from envs.tabletop.language import instructions

    episodes = []
    for protocol, scenes in (("ABC-D", (HELD_OUT_SCENE,)), ("ABCD-D", ("A", "B", "C", "D"))):
        for i in range(chains):
            rng = keyed_rng("long-horizon", protocol, i)
            start, chain = sample_chain(rng)
            scene = scenes[int(rng.integers(len(scenes)))]
            phrases = tuple(str(rng.choice(instructions(t, "eval"))) for t in chain)
            episodes.append(
                Episode(
                    episode_id=f"long-horizon/{protocol}/{i}",
                    env_id=ENV_ID,
                    scene=scene,
                    tasks=chain,
                    instructions=phrases,
                    seed=keyed_seed("long-horizon", protocol, i),
                    instruction_category="eval",
                    axis=f"long_horizon_{protocol}",
                    initial_state=start.as_dict(),
                )
            )
    return episodes


# long-horizon's protocols: CALVIN's ABC->D (the held-out scene D) and ABCD->D (scenes A-D)
LONG_HORIZON_PROTOCOLS = (("ABC-D", (HELD_OUT_SCENE,)), ("ABCD-D", ("A", "B", "C", "D")))
CHAIN_PINS = Path(__file__).with_name("chains_v3.json")  # scripts/pin_chains.py writes it


def chain_pins() -> dict[str, list[int]]:
    """Protocol -> the candidate number pinned for each of its v3 chains."""
    return json.loads(CHAIN_PINS.read_text())["pins"]


def long_horizon_v3() -> list[Episode]:
    """CALVIN's chains in full: every task may appear, pushes included, each chain the first
    candidate feasible on its realised start (``envs.tabletop.chains``, pinned in
    ``chains_v3.json``); scored by rules 3."""
    from envs.tabletop.chains import candidate
    from envs.tabletop.language import instructions

    pins = chain_pins()
    episodes = []
    for protocol, scenes in LONG_HORIZON_PROTOCOLS:
        for i, k in enumerate(pins[protocol]):
            chain = candidate(protocol, i, k, scenes)
            rng = keyed_rng("long-horizon-v3", protocol, i, k, "phrasings")
            phrases = tuple(str(rng.choice(instructions(t, "eval"))) for t in chain.tasks)
            episodes.append(
                Episode(
                    episode_id=f"long-horizon/{protocol}/{i}",
                    env_id=ENV_ID,
                    scene=chain.scene,
                    tasks=chain.tasks,
                    instructions=phrases,
                    seed=chain.seed,
                    instruction_category="eval",
                    axis=f"long_horizon_{protocol}",
                    initial_state=chain.start.as_dict(),
                    rules=3,
                )
            )
    return episodes


# v3 of seen, unseen and ood-instruction: rules 3, and screened starts for blind-solvable tasks
SCREENED_SUITES = ("seen", "unseen", "ood-instruction")
SCREENED_SEEDS = Path(__file__).with_name("screened_seeds_v3.json")  # scripts/pin_screened_seeds.py
# the open-loop motions v3 was screened against (task/fold -> actions), written with the seeds
BLIND_MOTIONS = Path(__file__).with_name("blind_motions_v3.npz")


def unscreened_v3_episodes(suite: str) -> list[Episode]:
    """``suite``'s v3 tabletop episodes before their starts are screened: v1's, under rules 3."""
    build = {"seen": seen, "unseen": lambda: unseen(UNSEEN_V1), "ood-instruction": ood_instruction}[suite]
    return rules_3(build())


def screened_v3(suite: str) -> list[Episode]:
    """``suite``'s v3 tabletop episodes: every episode of a task flagged blind-solvable on `seen` v2
    (leaderboards/blind_flags.json) starts where no blind control solves it and the scripted
    expert does (its seed pinned in ``screened_seeds_v3.json``); the tasks where some start could
    not be screened (their blind success is set by the scene) are scored beside the headline."""
    pins = json.loads(SCREENED_SEEDS.read_text())
    beside = set(pins["beside_headline"])
    return [
        replace(
            e,
            seed=pins["seeds"].get(e.episode_id, e.seed),
            headline=not (e.tasks[0] in beside and e.instruction_category != "invalid"),
        )
        for e in unscreened_v3_episodes(suite)
    ]


def rescreen_v3(episodes: list[Episode]) -> list[Episode]:
    """``episodes`` (of a v3 screened track, e.g. its hidden split) with every start v3 screens
    moved as the release moved its own: each valid single-task episode of a flagged task gets the
    first seed that neither the no-op nor a mean demonstration motion it was screened against solves
    and the scripted expert does (``envs.blind_screen``). Runs the simulator: about 2 s a start."""
    import gymnasium as gym
    import numpy as np
    from tqdm import tqdm

    from envs.blind_screen import screen_episodes

    flagged = set(json.loads(SCREENED_SEEDS.read_text())["flags"]["tasks"])
    todo = [
        i
        for i, e in enumerate(episodes)
        if e.env_id == ENV_ID and len(e.tasks) == 1 and e.tasks[0] in flagged and e.instruction_category != "invalid"
    ]
    if not todo:
        return list(episodes)
    motions = np.load(BLIND_MOTIONS)
    sequences: dict[str, list] = {}
    for key in motions.files:
        sequences.setdefault(key.split("/")[0], []).append(motions[key])
    out = list(episodes)
    env = gym.make(ENV_ID, cameras=()).unwrapped
    try:
        for i in tqdm(todo, desc="screening blind-solvable starts", unit="episode"):
            (out[i],), _ = screen_episodes([episodes[i]], flagged, sequences, lambda _id: env, close=False)
    finally:
        env.close()
    return out


CROSS_SIM_SUITES = ("seen", "unseen")


def cross_sim(env_id: str = ENV_ID, simulator: str = "mujoco") -> list[Episode]:
    """The `cross-sim` suite's part for ``env_id`` (this table, or a twin of it in another simulator):
    the tabletop's episodes of `seen` and `unseen` v3 exactly as released (seeds, instructions,
    variations), each id prefixed with the simulator, so the halves pair up by the rest of the id."""
    return [
        replace(e, episode_id=f"{simulator}/{e.episode_id}", env_id=env_id)
        for suite in CROSS_SIM_SUITES
        for e in screened_v3(suite)
    ]


# the unseen ranges `unseen` v1 was released with (the colour ranges are shared with the tidy room's)
UNSEEN_TABLE = {
    "rgb": {"hue": [0.2, 0.95], "saturation": [0.45, 0.75], "value": [0.45, 0.8]},
    "grain_scale": [0.75, 0.85],
}
UNSEEN_LIGHTING = {
    "intensity": [0.5, 0.7],
    "elevation_deg": [15.0, 30.0],
    "azimuth_deg": [0.0, 360.0],
    "rgb": {"hue": [0.0, 1.0], "saturation": [0.35, 0.6], "value": [1.0, 1.0]},
}
UNSEEN_BACKGROUND = {
    "wall_rgb": {"hue": [0.0, 1.0], "saturation": [0.35, 0.7], "value": [0.45, 0.85]},
    "floor_rgb": {"hue": [0.0, 1.0], "saturation": [0.35, 0.7], "value": [0.45, 0.85]},
}
UNSEEN_V1 = (
    ("table_appearance", UNSEEN_TABLE),
    ("lighting", UNSEEN_LIGHTING),
    ("camera_pose", {"shift_m": [0.03, 0.06], "rotation_deg": [3.0, 6.0]}),
    ("background", UNSEEN_BACKGROUND),
    (
        "distractors",
        {
            "count": [1, 3],
            "kinds": ["mug", "ball", "box"],
            "rgb": {
                "palette": [
                    [1.0, 0.55, 0.1],
                    [0.1, 0.8, 0.85],
                    [0.5, 0.2, 0.7],
                    [0.6, 0.9, 0.2],
                    [0.95, 0.85, 0.15],
                    [0.1, 0.5, 0.45],
                ],
                "jitter": 0.03,
            },
        },
    ),
    (
        "novel_object_appearance",
        {
            "red": {"palette": [[0.55, 0.04, 0.08], [0.95, 0.35, 0.12], [0.75, 0.1, 0.35]], "jitter": 0.02},
            "blue": {"palette": [[0.1, 0.55, 0.9], [0.06, 0.1, 0.45], [0.38, 0.3, 0.9]], "jitter": 0.02},
            "pink": {"palette": [[0.85, 0.2, 0.6], [1.0, 0.72, 0.78], [0.78, 0.45, 0.88]], "jitter": 0.02},
        },
    ),
    ("layout", {"scene": [HELD_OUT_SCENE]}),  # picks the scene; no value is drawn
)

TRACKS = (
    Track("smoke", 1, "four quick tasks in scene A, for CI", smoke),
    Track("seen", 1, "every task in training scenes A-C with training phrasings", seen),
    Track(
        "unseen",
        1,
        "every task under every unseen-scene axis, training phrasings",
        lambda: unseen(UNSEEN_V1),
        axes=UNSEEN_V1,
    ),
    Track("ood-instruction", 1, "training scenes, every instruction category incl. invalid", ood_instruction),
    Track("long-horizon", 1, "1000 five-task chains per protocol (ABC->D and ABCD->D)", long_horizon),
    Track(
        "seen",
        3,
        "every task in training scenes A-C with training phrasings; blind-solvable starts screened",
        lambda: screened_v3("seen"),
        rescreen=rescreen_v3,
    ),
    Track(
        "unseen",
        3,
        "every task under every unseen-scene axis, training phrasings; blind-solvable starts screened",
        lambda: screened_v3("unseen"),
        axes=UNSEEN_V1,
        rescreen=rescreen_v3,
    ),
    Track(
        "ood-instruction",
        3,
        "training scenes, every instruction category; refusals scored by status; blind-solvable starts screened",
        lambda: screened_v3("ood-instruction"),
        rescreen=rescreen_v3,
    ),
    Track(
        "long-horizon",
        3,
        "1000 five-task chains per protocol (ABC->D headline, ABCD->D beside it), pushes included, each "
        "feasible on its realised start",
        long_horizon_v3,
    ),
    Track(
        "cross-sim",
        1,
        "seen and unseen v3 tabletop episodes in MuJoCo, paired with the same episodes in another simulator",
        cross_sim,
        rescreen=rescreen_v3,
    ),
)


def tracks() -> tuple[Track, ...]:
    return TRACKS
