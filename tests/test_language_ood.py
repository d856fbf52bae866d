"""The out-of-distribution instruction bank: every category for every task, disjoint from the
training and evaluation phrasings, sizes filled in per scene."""

import re

import pytest

from envs.tabletop.language import instruction_bank
from envs.tabletop.language_ood import OOD_CATEGORIES, invalid_instructions, ood_bank, ood_instructions
from envs.tabletop.scenes import SCENES
from envs.tabletop.tasks import TASKS

MINIMUM = {"paraphrase": 4, "synonym": 3, "abstract": 2, "multilingual": 3, "distractor": 2}
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_task_has_every_category():
    tasks = ood_bank()["tasks"]
    assert set(tasks) == set(TASKS)
    for task in TASKS:
        for category in OOD_CATEGORIES:
            assert len(ood_instructions(task, category, "A")) >= MINIMUM[category], (task, category)


def test_disjoint_from_training_and_evaluation_phrasings():
    seen = {p.strip().lower() for splits in instruction_bank().values() for ps in splits.values() for p in ps}
    for scene in SCENES:  # abstract phrasings name a block by its size, which depends on the scene
        owner = {}
        for task in TASKS:
            for category in OOD_CATEGORIES:
                for phrase in ood_instructions(task, category, scene):
                    key = phrase.strip().lower()
                    assert key not in seen, f"{phrase!r} ({task}, {category}) is a train/eval phrasing"
                    assert owner.setdefault(key, task) == task, f"{phrase!r} names two tasks in scene {scene}"
        assert not {p.lower() for p in invalid_instructions()} & (seen | set(owner))


def test_sizes_are_filled_per_scene():
    for task, spec in TASKS.items():
        for scene in SCENES:
            for phrase in ood_instructions(task, "abstract", scene):
                assert "{" not in phrase
        raw = ood_bank()["tasks"][task]["abstract"]
        assert any("{size}" in p for p in raw) == (spec.block is not None), task
    # scene A makes the red block the medium one, scene D the blue block the largest
    assert any("medium-sized" in p for p in ood_instructions("lift_red_block_table", "abstract", "A"))
    assert any("largest" in p for p in ood_instructions("push_blue_block_left", "abstract", "D"))


def test_multilingual_has_chinese_and_a_european_language():
    for task in TASKS:
        phrasings = ood_instructions(task, "multilingual", "A")
        assert sum(bool(CJK.search(p)) for p in phrasings) >= 2, task
        assert any(not CJK.search(p) for p in phrasings), task


def test_distractors_are_long_and_invalid_requests_are_many():
    for task in TASKS:
        assert all(len(p.split()) >= 20 for p in ood_instructions(task, "distractor", "B")), task
    assert len(invalid_instructions()) >= 25


def test_unknown_category_is_refused():
    with pytest.raises(ValueError, match="paraphrase"):
        ood_instructions("open_drawer", "paraphrse", "A")


def test_ood_suite_covers_every_category_for_every_task():
    from gr_bench.suites import get_suite

    suite = get_suite("ood-instruction")
    for task in TASKS:
        categories = {
            e.instruction_category for e in suite.episodes if e.tasks == (task,) and e.instruction_category != "invalid"
        }
        assert categories == {"eval", *OOD_CATEGORIES}, task
    assert sum(e.instruction_category == "invalid" for e in suite.episodes) == len(invalid_instructions())


def test_every_ood_phrasing_fits_the_observation_space():
    from envs.tabletop.env import TabletopEnv

    space = TabletopEnv(cameras=()).observation_space["instruction"]
    for task in TASKS:
        for category in OOD_CATEGORIES:
            for phrase in ood_instructions(task, category, "C"):
                assert space.contains(phrase), phrase
    assert all(space.contains(p) for p in invalid_instructions())
