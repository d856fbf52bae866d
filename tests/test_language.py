from envs.tabletop.env import TabletopEnv
from envs.tabletop.language import instruction_bank
from envs.tabletop.tasks import TASKS


def test_bank_covers_every_task():
    bank = instruction_bank()
    assert set(bank) == set(TASKS)
    owner = {}
    for task, splits in bank.items():
        assert len(splits["train"]) >= 8 and len(splits["eval"]) >= 1, task
        assert not set(splits["train"]) & set(splits["eval"]), task
        for phrase in splits["train"] + splits["eval"]:
            assert owner.setdefault(phrase, task) == task, f"{phrase!r} names two tasks"


def test_reset_draws_from_the_split():
    bank = instruction_bank()
    train = TabletopEnv(cameras=())
    held_out = TabletopEnv(cameras=(), instruction_split="eval")
    for seed in range(5):
        _, info = train.reset(seed=seed, options={"task": "open_drawer"})
        assert info["instruction"] in bank["open_drawer"]["train"]
        _, info = held_out.reset(seed=seed, options={"task": "open_drawer"})
        assert info["instruction"] in bank["open_drawer"]["eval"]
