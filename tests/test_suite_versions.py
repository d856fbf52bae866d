"""Released suites are frozen: every (suite, version) of leaderboards/manifest.json builds to its
released hash, and adding an axis to an environment or editing an axis's ranges moves none of them.
The current `unseen` version draws from the live axes and ranges, so changing one asks for a new
version here instead of changing what a released hash means."""

import dataclasses

import pytest

from envs.tabletop import variations as tabletop_variations
from envs.tidy import variations as tidy_variations
from envs.utils.axes import Axis, uniform
from gr_bench.leaderboard import load_manifest, released_versions
from gr_bench.suites import TABLETOP, TIDY, UNSEEN_AXES, VERSIONS, get_suite

MANIFEST = load_manifest()
RELEASED = [
    (name, version, info["hash"])
    for name in MANIFEST["suites"]
    for version, info in sorted(released_versions(MANIFEST, name).items())
]
LIVE_AXES = {TABLETOP: tabletop_variations, TIDY: tidy_variations}  # env id -> the module holding its AXES
# an axis added after release, to both environments
GLARE = Axis(
    "glare",
    "a light shining into the camera",
    train={"level": [0.0, 0.1]},
    unseen={"level": [0.5, 1.0]},
    sampler=lambda spec, rng: uniform(spec["level"], rng),
    applier=lambda sim, value: value,
)
AXIS_CHANGES = {
    "an axis added first": lambda axes: {"glare": GLARE, **axes},
    "an axis appended": lambda axes: {**axes, "glare": GLARE},
    # every unseen range replaced by the axis's training range: values a suite reading the live
    # ranges would draw differently
    "every unseen range edited": lambda axes: {n: dataclasses.replace(a, unseen=a.train) for n, a in axes.items()},
}


def _check_released_hashes() -> None:
    for name, version, released in RELEASED:
        built = get_suite(name, version).hash
        assert built == released, (
            f"suite {name!r} v{version} builds to {built[:16]}, released as {released[:16]} "
            "(leaderboards/manifest.json). A released version is frozen: undo what moved its episodes "
            "and put the change in a new version (gr_bench/suites.py: VERSIONS, UNSEEN_AXES; then "
            "`gr-bench leaderboard manifest`)."
        )


@pytest.fixture
def fresh_suites():
    """Suites built during the test, not taken from get_suite's cache (nor left in it)."""
    get_suite.cache_clear()
    yield
    get_suite.cache_clear()


def test_every_released_version_is_built():
    assert {(n, v) for n, v, _ in RELEASED} == {(n, v) for n, versions in VERSIONS.items() for v in versions}
    assert tuple(UNSEEN_AXES) == VERSIONS["unseen"]


def test_every_released_hash(fresh_suites):
    _check_released_hashes()


@pytest.mark.parametrize("change", AXIS_CHANGES)
def test_axis_changes_move_no_released_hash(monkeypatch, fresh_suites, change):
    for module in LIVE_AXES.values():
        monkeypatch.setattr(module, "AXES", AXIS_CHANGES[change](module.AXES))
    _check_released_hashes()


@pytest.mark.parametrize("env_id", LIVE_AXES)
def test_the_current_unseen_version_draws_from_the_live_axes(env_id):
    live = LIVE_AXES[env_id].AXES
    current = VERSIONS["unseen"][-1]
    pinned = dict(UNSEEN_AXES[current][env_id])
    advice = (
        f"the released episodes keep the old ones. To evaluate on the new ones, add unseen v{current + 1} "
        "to gr_bench/suites.py (VERSIONS, and UNSEEN_AXES with the new axes and ranges), then run "
        "`gr-bench leaderboard manifest`"
    )
    assert set(live) == set(pinned), f"{env_id} has the axes {list(live)}, unseen v{current} {list(pinned)}: {advice}"
    for name, unseen_range in pinned.items():
        assert live[name].unseen == unseen_range, (
            f"{env_id} axis {name!r} has the unseen range {live[name].unseen}, unseen v{current} was drawn "
            f"from {unseen_range}: {advice}"
        )
