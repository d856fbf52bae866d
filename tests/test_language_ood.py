"""The out-of-distribution instruction bank: every category for every task, disjoint from the
training and evaluation phrasings, sizes filled in per scene, and a list of invalid requests."""

import re

import pytest

from envs.tabletop.language import instruction_bank
from envs.tabletop.language_ood import OOD_CATEGORIES, invalid_instructions, ood_bank, ood_instructions
from envs.tabletop.scenes import BLOCK_COLOURS, SCENES
from envs.tabletop.tasks import TASKS

MINIMUM = {"paraphrase": 4, "synonym": 3, "abstract": 2, "multilingual": 3, "distractor": 2}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _seen() -> set[str]:
    """Every train and eval phrasing of tabletop.yaml, normalised."""
    return {p.strip().lower() for splits in instruction_bank().values() for ps in splits.values() for p in ps}


def test_file_lists_the_categories():
    assert tuple(ood_bank()["categories"]) == OOD_CATEGORIES


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_task_has_every_category(task):
    assert set(ood_bank()["tasks"][task]) == set(OOD_CATEGORIES)
    for category in OOD_CATEGORIES:
        phrasings = ood_instructions(task, category, "A")
        assert len(phrasings) >= MINIMUM[category], (task, category)
        assert len(set(phrasings)) == len(phrasings), (task, category)
        assert all(isinstance(p, str) and p.strip() for p in phrasings), (task, category)


def test_bank_covers_exactly_the_tasks():
    assert set(ood_bank()["tasks"]) == set(TASKS)


def test_disjoint_from_training_and_evaluation_phrasings():
    seen = _seen()
    for scene in SCENES:  # abstract phrasings name a block by its size, which depends on the scene
        owner = {}
        for task in TASKS:
            for category in OOD_CATEGORIES:
                for phrase in ood_instructions(task, category, scene):
                    key = phrase.strip().lower()
                    assert key not in seen, f"{phrase!r} ({task}, {category}) is a train/eval phrasing"
                    assert owner.setdefault(key, task) == task, f"{phrase!r} names two tasks in scene {scene}"
        assert not {p.strip().lower() for p in invalid_instructions()} & (seen | set(owner))


def test_sizes_are_filled_per_scene():
    for task, spec in TASKS.items():
        raw = ood_bank()["tasks"][task]
        for category in OOD_CATEGORIES:
            if category != "abstract":
                assert not any("{size}" in p for p in raw[category]), (task, category)
        if spec.block is None:
            assert not any("{size}" in p for p in raw["abstract"]), task
        else:  # every abstract phrasing names the block by size, never by colour
            assert all("{size}" in p for p in raw["abstract"]), task
            assert not any(re.search(rf"\b{c}\b", p) for p in raw["abstract"] for c in BLOCK_COLOURS), task
        for scene in SCENES:
            assert not any("{" in p or "}" in p for p in ood_instructions(task, "abstract", scene)), task
    # scene A: red medium, blue small, pink large; scene D: red medium, blue large, pink small
    expected = {
        ("lift_red_block_table", "A"): "medium-sized",
        ("rotate_blue_block_left", "A"): "smallest",
        ("push_pink_block_right", "A"): "largest",
        ("lift_red_block_drawer", "D"): "medium-sized",
        ("push_blue_block_left", "D"): "largest",
        ("lift_pink_block_slider", "D"): "smallest",
    }
    for (task, scene), word in expected.items():
        phrasings = ood_instructions(task, "abstract", scene)
        assert all(f"the {word} " in p for p in phrasings), (task, scene, phrasings)
    assert "lift the medium-sized block off the table" in ood_instructions("lift_red_block_table", "abstract", "A")


def test_multilingual_has_chinese_and_a_european_language():
    for task in TASKS:
        raw = ood_bank()["tasks"][task]["multilingual"]
        chinese = [p for p in raw if not re.search(r"[a-z]", p)]  # entries without Latin letters
        assert len(chinese) >= 2, task
        assert all(CJK.search(p) for p in chinese), f"{task}: a Chinese entry without CJK characters"
        assert any(not CJK.search(p) for p in raw), f"{task}: no German or French entry"


def test_distractors_are_long():
    for task in TASKS:
        assert all(len(p.split()) >= 20 for p in ood_instructions(task, "distractor", "B")), task


def test_invalid_requests_are_many_and_distinct():
    invalid = invalid_instructions()
    assert len(invalid) >= 25
    assert len({p.strip().lower() for p in invalid}) == len(invalid)


def test_unknown_names_are_refused_with_suggestions():
    with pytest.raises(ValueError, match="paraphrase"):
        ood_instructions("open_drawer", "paraphrse", "A")
    with pytest.raises(ValueError, match="open_drawer"):
        ood_instructions("open_drawr", "paraphrase", "A")
    with pytest.raises(ValueError, match="scene"):
        ood_instructions("open_drawer", "paraphrase", "E")


def test_ood_suite_covers_every_category_for_every_task():
    from gr_bench.suites import get_suite

    suite = get_suite("ood-instruction")
    for task in TASKS:
        categories = {
            e.instruction_category for e in suite.episodes if e.tasks == (task,) and e.instruction_category != "invalid"
        }
        assert categories == {"eval", *OOD_CATEGORIES}, task
    tabletop = [e for e in suite.episodes if e.env_id == "GRBench/Tabletop-v0"]  # tidy has its own invalid requests
    assert sum(e.instruction_category == "invalid" for e in tabletop) == len(invalid_instructions())


def test_every_ood_phrasing_fits_the_observation_space():
    from envs.tabletop.env import TabletopEnv

    space = TabletopEnv(cameras=()).observation_space["instruction"]
    for task in TASKS:
        for category in OOD_CATEGORIES:
            for phrase in ood_instructions(task, category, "C"):
                assert space.contains(phrase), phrase
    assert all(space.contains(p) for p in invalid_instructions())


def test_invalid_training_requests_name_nothing_the_evaluation_names():
    from envs.tabletop.language_ood import invalid_instructions, invalid_training_instructions

    train = invalid_training_instructions()
    assert len(train) >= 30 and len(set(train)) == len(train)
    assert not set(train) & set(invalid_instructions())
    # the absent things the evaluation's invalid requests name, as words
    evaluated = [
        "green",
        "yellow",
        "orange",
        "purple",
        "black",
        "white",
        "brown",
        "grey",
        "mug",
        "apple",
        "scissors",
        "tennis",
        "ball",
        "book",
        "laptop",
        "glass",
        "spoon",
        "bowl",
        "plates",
        "napkin",
        "pen",
        "keyboard",
        "banana",
        "basket",
        "fridge",
        "television",
        "fan",
        "oven",
        "window",
        "microwave",
        "curtains",
        "radio",
        "cardboard",
    ]
    for phrase in train:
        words = set(phrase.replace(",", " ").split())
        assert not words & set(evaluated), (phrase, words & set(evaluated))
