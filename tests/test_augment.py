"""DrQ's random shift (agents/train/augment.py) and GR-1's use of it in training only."""

import pytest

torch = pytest.importorskip("torch")

from agents.train.augment import random_shift  # noqa: E402


def test_a_window_moves_as_one_and_keeps_its_pixels():
    g = torch.Generator().manual_seed(0)
    frames = torch.randint(0, 256, (4, 3, 3, 16, 16), dtype=torch.uint8, generator=g)
    future = torch.randint(0, 256, (4, 3, 3, 16, 16), dtype=torch.uint8, generator=g)
    a, b = random_shift([frames, future], pad=2, generator=torch.Generator().manual_seed(1))
    assert a.dtype == torch.uint8 and a.shape == frames.shape and b.shape == future.shape
    moved = 0
    for i in range(4):
        # one offset per window: find it on the first frame, check it on every step and the future
        found = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if torch.equal(a[i, 0, :, 4:12, 4:12], frames[i, 0, :, 4 + dy : 12 + dy, 4 + dx : 12 + dx])
        ]
        assert len(found) == 1
        dy, dx = found[0]
        moved += (dy, dx) != (0, 0)
        for t in range(3):
            assert torch.equal(a[i, t, :, 4:12, 4:12], frames[i, t, :, 4 + dy : 12 + dy, 4 + dx : 12 + dx])
            assert torch.equal(b[i, t, :, 4:12, 4:12], future[i, t, :, 4 + dy : 12 + dy, 4 + dx : 12 + dx])
    assert moved  # some window moved (4 windows, 25 offsets each)
    assert random_shift([frames], pad=0)[0] is frames
    with pytest.raises(ValueError, match="pad must be >= 0"):
        random_shift([frames], pad=-1)


def test_gr1_shifts_a_training_batch():
    from agents.gr1.config import get_config
    from agents.gr1.model import GR1

    with pytest.raises(ValueError, match="augment_shift must be >= 0"):
        get_config("tiny", {"augment_shift": -1})
    model = GR1(get_config("tiny", {"augment_shift": 4}))
    batch = {
        "rgb_static": torch.randint(0, 256, (2, 4, 3, 64, 64), dtype=torch.uint8),
        "rgb_gripper": torch.randint(0, 256, (2, 4, 3, 64, 64), dtype=torch.uint8),
    }
    shifted = model.shifted(batch)
    assert not torch.equal(shifted["rgb_static"], batch["rgb_static"])
    assert shifted["rgb_static"].dtype == torch.uint8
