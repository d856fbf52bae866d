"""Released suites are frozen: every (suite, version) of leaderboards/manifest.json builds to its
released hash, and adding an axis to an environment, editing an axis's ranges or registering a new
family with tracks moves none of them. The current `unseen` version draws from the live axes and
ranges, so changing one asks for a new track version instead of changing what a released hash means."""

import dataclasses

import pytest

from envs.family import families
from envs.tabletop import variations as tabletop_variations
from envs.tidy import variations as tidy_variations
from envs.utils.axes import Axis, uniform
from gr_bench.leaderboard import load_manifest, released_versions
from gr_bench.suites import clear_cache, get_suite, suite_names, unseen_axes, versions

MANIFEST = load_manifest()
RELEASED = [
    (name, version, info["hash"])
    for name in MANIFEST["suites"]
    for version, info in sorted(released_versions(MANIFEST, name).items())
]
LIVE_AXES = {  # env id -> the module holding its AXES
    "GRBench/Tabletop-v0": tabletop_variations,
    "GRBench/Tidy-v0": tidy_variations,
}
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
            "and put the change in a new track version (envs/<family>/tracks.py: TRACKS, and the pinned "
            "axes of an unseen track; then `gr-bench leaderboard manifest`)."
        )


@pytest.fixture
def fresh_suites():
    """Suites built during the test, not taken from get_suite's cache (nor left in it)."""
    clear_cache()
    yield
    clear_cache()


def test_every_released_version_is_built():
    assert {(n, v) for n, v, _ in RELEASED} == {(n, v) for n in suite_names() for v in versions(n)}
    for version in versions("unseen"):
        assert set(unseen_axes(version)) == {e.env_id for e in get_suite("unseen", version).episodes}


def test_every_released_hash(fresh_suites):
    _check_released_hashes()


@pytest.mark.parametrize("change", AXIS_CHANGES)
def test_axis_changes_move_no_released_hash(monkeypatch, fresh_suites, change):
    for module in LIVE_AXES.values():
        monkeypatch.setattr(module, "AXES", AXIS_CHANGES[change](module.AXES))
    _check_released_hashes()


def test_a_new_family_with_tracks_moves_no_released_hash(fresh_suites):
    """A family registered later (here the tabletop again, under another id, with a track of a new
    `seen` version) joins new versions only."""
    from envs.family import Track, registered
    from envs.tabletop.family import TABLETOP

    current = versions("seen")[-1]
    track = Track("seen", current + 1, "a copy", lambda: [])
    twin = dataclasses.replace(TABLETOP, id="twin", env_id="GRBench/TabletopTwin-v0", tracks=lambda: (track,))
    with registered(twin):
        assert "twin" in [f.id for f in families()] and versions("seen")[-1] == current + 1
        _check_released_hashes()
        assert get_suite("seen").tracks == get_suite("seen", current).tracks  # its track is empty
    assert "twin" not in [f.id for f in families()] and versions("seen")[-1] == current


@pytest.mark.parametrize("env_id", LIVE_AXES)
def test_the_current_unseen_version_draws_from_the_live_axes(env_id):
    live = LIVE_AXES[env_id].AXES
    current = versions("unseen")[-1]
    pinned = dict(unseen_axes(current)[env_id])
    advice = (
        f"the released episodes keep the old ones. To evaluate on the new ones, declare unseen v{current + 1} "
        "in the family's tracks (envs/<family>/tracks.py, with the new axes and ranges pinned), then run "
        "`gr-bench leaderboard manifest`"
    )
    assert set(live) == set(pinned), f"{env_id} has the axes {list(live)}, unseen v{current} {list(pinned)}: {advice}"
    for name, unseen_range in pinned.items():
        assert live[name].unseen == unseen_range, (
            f"{env_id} axis {name!r} has the unseen range {live[name].unseen}, unseen v{current} was drawn "
            f"from {unseen_range}: {advice}"
        )
