"""The instruction bank: every task has train and held-out eval phrasings, and reset draws from
the chosen split."""

import pytest

from envs.tabletop.env import TabletopEnv
from envs.tabletop.tasks import TASKS
from envs.utils.conventions import INSTRUCTION_CHARSET


@pytest.fixture(scope="module")
def bank():
    from envs.tabletop.language import instruction_bank

    return instruction_bank()


def test_bank_covers_every_task(bank):
    assert set(bank) == set(TASKS)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_phrasings_per_task(bank, task):
    splits = bank[task]
    train, held_out = splits.get("train", ()), splits.get("eval", ())
    assert len(train) >= 8, f"{task}: {len(train)} train phrasings"
    assert len(held_out) >= 1, f"{task}: no eval phrasing"
    assert len(set(train)) == len(train) and len(set(held_out)) == len(held_out), f"{task}: duplicates"
    assert not set(train) & set(held_out), f"{task}: train and eval overlap: {set(train) & set(held_out)}"
    for phrase in train + held_out:
        assert isinstance(phrase, str) and phrase.strip(), f"{task}: empty phrasing"
        # it must fit the observation space's Text(max_length=512, charset=printable)
        assert len(phrase) <= 512 and set(phrase) <= set(INSTRUCTION_CHARSET), f"{task}: {phrase!r}"


def test_no_phrasing_names_two_tasks(bank):
    owner = {}
    for task, splits in bank.items():
        for phrase in splits["train"] + splits["eval"]:
            assert owner.setdefault(phrase.strip().lower(), task) == task, f"{phrase!r} names two tasks"


@pytest.mark.parametrize("task", ["open_drawer", "stack_block", "turn_on_led"])
def test_reset_draws_from_the_split(bank, task):
    train = TabletopEnv(cameras=())
    held_out = TabletopEnv(cameras=(), instruction_split="eval")
    for seed in range(5):
        obs, info = train.reset(seed=seed, options={"task": task})
        assert info["instruction"] in bank[task]["train"]
        assert obs["instruction"] == info["instruction"]
        obs, info = held_out.reset(seed=seed, options={"task": task})
        assert info["instruction"] in bank[task]["eval"]
        assert obs["instruction"] == info["instruction"]
        assert train.observation_space.contains(obs)


def test_explicit_instruction_wins():
    env = TabletopEnv(cameras=())
    obs, info = env.reset(seed=0, options={"task": "open_drawer", "instruction": "pull the drawer"})
    assert obs["instruction"] == info["instruction"] == "pull the drawer"
