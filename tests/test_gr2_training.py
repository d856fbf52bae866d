"""``gr-bench train --agent vqgan``: GR-2's tokenizer trained on collected frames through the one loop, resumed."""

from __future__ import annotations

import csv
import json
import math

import pytest

pytest.importorskip("torch")

from gr_bench.cli import main  # noqa: E402


def _rows(run):
    with open(run / "metrics.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_train_the_tokenizer_on_collected_frames_and_resume(tmp_path):
    from agents.gr2.training import Frames, build

    data = tmp_path / "data"
    assert main(["collect", "--suite", "smoke", "--episodes-per-task", "1", "--tasks", "open_drawer",
                 "--out", str(data), "--workers", "1", "--size", "48", "--gripper-size", "32"]) == 0  # fmt: skip
    frames = Frames([str(data)], 32)
    assert len(frames) == 2 * len(frames.videos[0])  # both cameras' images, each a sample
    sample = frames[len(frames) - 1]  # a gripper image, resized like the static ones
    assert sample.shape == (3, 32, 32) and 0 <= sample.min() <= sample.max() <= 1

    run = tmp_path / "run"
    common = ["train", "--agent", "vqgan", "--videos", str(data), "--set", "image_size=32", "--batch-size", "4",
              "--warmup-steps", "1", "--log-every", "2", "--device", "cpu", "--out", str(run)]  # fmt: skip
    assert main([*common, "--steps", "4"]) == 0
    checkpoint = run / "checkpoints" / "step-0000004"
    assert (checkpoint / "model.safetensors").is_file()
    saved = json.loads((checkpoint / "config.json").read_text())
    assert saved["agent"] == "vqgan" and saved["model"]["image_size"] == 32 and saved["step"] == 4
    rows = _rows(run)
    assert [int(r["step"]) for r in rows] == [2, 4]
    assert all(math.isfinite(float(r["psnr"])) and 0 < float(r["code_usage"]) <= 1 for r in rows)

    assert main([*common, "--steps", "6", "--resume"]) == 0  # continues from step 4
    assert (run / "checkpoints" / "step-0000006" / "model.safetensors").is_file()
    assert [int(r["step"]) for r in _rows(run)] == [2, 4, 6]

    # its weights are a GR-2 model's tokenizer; the options it does not take are refused
    from agents.gr2.tokenizer import VQGAN
    from agents.train.checkpoint import load_weights

    tokenizer, _, _ = build(overrides={"image_size": 32}, videos=[str(data)])
    assert isinstance(tokenizer, VQGAN)
    load_weights(tokenizer, run / "checkpoints" / "step-0000006")
    with pytest.raises(ValueError, match="--videos"):
        build()
    with pytest.raises(ValueError, match="--tasks"):
        build(videos=[str(data)], tasks=["open_drawer"])
