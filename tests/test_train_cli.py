"""End to end through the CLI: collect demonstrations, pre-train on their video, fine-tune, evaluate."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from gr_bench.cli import main  # noqa: E402
from tests.tiny_models import make_clip_text  # noqa: E402

VISION = {"image_size": 32, "patch_size": 8, "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
          "intermediate_size": 64}  # fmt: skip


def _model_overrides(clip) -> list[str]:
    sets = {
        "text_encoder": str(clip),
        "vision_config": VISION,
        "image_size": 32,
        "hidden": 32,
        "layers": 1,
        "heads": 2,
        "history": 2,
        "resampler_latents": 2,
        "decoder_hidden": 32,
        "decoder_heads": 2,
    }
    return [arg for key, value in sets.items() for arg in ("--set", f"{key}={json.dumps(value)}")]


def test_collect_pretrain_finetune_eval(tmp_path, capsys):
    data = tmp_path / "data"
    clip = make_clip_text(tmp_path / "clip")
    assert main(["collect", "--suite", "smoke", "--episodes-per-task", "1", "--tasks", "open_drawer",
                 "--out", str(data), "--workers", "1", "--size", "48", "--gripper-size", "32"]) == 0  # fmt: skip
    common = ["--steps", "4", "--batch-size", "2", "--warmup-steps", "1", "--device", "cpu", *_model_overrides(clip)]
    video = tmp_path / "video"
    assert (
        main(["train", "--agent", "gr1", "--stage", "pretrain", "--videos", str(data), "--out", str(video), *common])
        == 0
    )
    finetuned = tmp_path / "finetuned"
    args = ["train", "--agent", "gr1", "--data", str(data), "--init", str(video)]  # a run folder: its newest checkpoint
    assert main([*args, "--out", str(finetuned), *common]) == 0
    saved = json.loads((finetuned / "checkpoints" / "step-0000004" / "config.json").read_text())
    assert saved["agent"] == "gr1" and saved["normalizer"] and saved["step"] == 4
    # a pre-training checkpoint has no action statistics: evaluating it is refused with a hint
    capsys.readouterr()
    assert main(["eval", "--agent", "gr1", "--checkpoint", str(video), "--suite", "smoke", "--episodes", "1",
                 "--out", str(tmp_path / "bad")]) == 2  # fmt: skip
    assert "fine-tune it on demonstrations" in capsys.readouterr().err
    out = tmp_path / "eval"
    assert main(["eval", "--agent", "gr1", "--checkpoint", str(finetuned), "--suite", "smoke", "--task", "open_drawer",
                 "--out", str(out)]) == 0  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    record = results["episodes"][0] if "episodes" in results else results["records"][0]
    assert record["failure"] is None and record["steps"] > 0


def test_train_rejects_bad_input(tmp_path, capsys):
    assert main(["train", "--agent", "gr9", "--data", str(tmp_path)]) == 2
    assert "gr9" in capsys.readouterr().err
    assert main(["train", "--agent", "gr1", "--set", "hidden"]) == 2
    assert "key=value" in capsys.readouterr().err
    assert main(["train", "--agent", "gr1", "--stage", "finetune"]) == 2
    assert "--data" in capsys.readouterr().err
    assert main(["train", "--agent", "gr1", "--data", str(tmp_path), "--vl-data", str(tmp_path)]) == 2
    assert "gr1's training takes no --vl-data" in capsys.readouterr().err
    assert main(["train", "--agent", "gr3", "--data", str(tmp_path), "--robot-data", str(tmp_path)]) == 2
    assert "--stage fewshot" in capsys.readouterr().err


def test_gr3_collect_vl_cotrain_fewshot_eval(tmp_path):
    """GR-3 through the CLI: demonstrations and vision-language data, co-training, a few-shot stage, eval."""
    data, vl = tmp_path / "data", tmp_path / "vl"
    assert main(["collect", "--suite", "smoke", "--episodes-per-task", "1", "--tasks", "open_drawer",
                 "--out", str(data), "--workers", "1", "--size", "48", "--gripper-size", "32"]) == 0  # fmt: skip
    assert main(["collect-vl", "--scenes", "4", "--out", str(vl), "--size", "48", "--gripper-size", "32"]) == 0
    common = ["--steps", "3", "--batch-size", "2", "--warmup-steps", "1", "--device", "cpu", "--log-every", "1"]
    small = ["--set", "image_size=32", "--set", "dit_hidden=32", "--set", "dit_mlp=64"]
    cotrained = tmp_path / "cotrained"
    assert main(["train", "--agent", "gr3", "--data", str(data), "--vl-data", str(vl), "--out", str(cotrained),
                 *common, *small]) == 0  # fmt: skip
    header = (cotrained / "metrics.csv").read_text().splitlines()[0]
    assert "vl_loss" in header and "flow_loss" in header
    saved = json.loads((cotrained / "checkpoints" / "step-0000003" / "config.json").read_text())
    assert saved["source"]["vl_data"] == str(vl)
    fewshot = tmp_path / "fewshot"
    assert main(["train", "--agent", "gr3", "--stage", "fewshot", "--data", str(data), "--init", str(cotrained),
                 "--robot-data", str(data), "--out", str(fewshot), *common]) == 0  # fmt: skip
    saved = json.loads((fewshot / "checkpoints" / "step-0000003" / "config.json").read_text())
    assert saved["stage"] == "fewshot" and saved["source"]["robot_data"] == str(data)
    out = tmp_path / "eval"
    assert main(["eval", "--agent", "gr3", "--checkpoint", str(fewshot), "--suite", "smoke", "--task", "open_drawer",
                 "--out", str(out)]) == 0  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    record = results["episodes"][0] if "episodes" in results else results["records"][0]
    assert record["failure"] is None and record["steps"] > 0


def test_gr1_joins_clean_and_perturbed_demonstrations(tmp_path):
    """--data twice: one robot's datasets joined, normalised with the first one's statistics."""
    from agents.data.lerobot_format import read_stats
    from agents.data.mix import Joined
    from agents.data.normalize import Normalizer

    clip = make_clip_text(tmp_path / "clip")
    clean, dart = tmp_path / "clean", tmp_path / "dart"
    small = ["--suite", "smoke", "--episodes-per-task", "1", "--tasks", "open_drawer", "--workers", "1",
             "--size", "48", "--gripper-size", "32"]  # fmt: skip
    assert main(["collect", *small, "--out", str(clean)]) == 0
    assert main(["collect", *small, "--action-noise", "0.5", "--out", str(dart)]) == 0
    out = tmp_path / "joined"
    common = ["--steps", "2", "--batch-size", "2", "--warmup-steps", "1", "--device", "cpu", *_model_overrides(clip)]
    assert main(["train", "--agent", "gr1", "--data", str(clean), "--data", str(dart), "--out", str(out), *common]) == 0
    saved = json.loads((out / "checkpoints" / "step-0000002" / "config.json").read_text())
    assert saved["source"]["data"] == [str(clean), str(dart)]
    first = Normalizer.from_stats(read_stats(clean), ("observation.state", "action")).to_dict()
    assert saved["normalizer"] == json.loads(json.dumps(first))
    # GR-3: a robot's two datasets are joined too, normalised as its first
    gr3 = tmp_path / "gr3"
    small = ["--set", "image_size=32", "--set", "dit_hidden=32", "--set", "dit_mlp=64"]
    both = ["--data", str(clean), "--data", str(dart)]
    assert main(["train", "--agent", "gr3", *both, "--out", str(gr3), "--steps", "2", "--batch-size", "2",
                 "--warmup-steps", "1", "--device", "cpu", *small]) == 0  # fmt: skip
    saved = json.loads((gr3 / "checkpoints" / "step-0000002" / "config.json").read_text())
    assert saved["source"]["data"] == [str(clean), str(dart)] and list(saved["normalizers"]) == ["tabletop_arm"]
    from agents.gr3.training import build

    _, dataset, _ = build(overrides={"image_size": 32, "dit_hidden": 32, "dit_mlp": 64}, data=[str(clean), str(dart)])
    (joined_windows,) = dataset.datasets
    assert isinstance(joined_windows, Joined) and len(dataset) == len(joined_windows)

    class Fake(list):
        def __init__(self, robot, n):
            super().__init__(range(n))
            self.info = {"robot_type": robot}

    joined = Joined([Fake("panda", 3), Fake("panda", 2)])
    assert len(joined) == 5 and joined[3] == 0 and joined[2] == 2
    with pytest.raises(IndexError):
        joined[5]
    with pytest.raises(ValueError, match="different robots"):
        Joined([Fake("panda", 1), Fake("bytemini", 1)])


def test_the_scene_state_control_sees_scene_obs_and_stays_off_the_boards(tmp_path, capsys):
    """GR-1 with ``scene_state``: the simulator's scene_obs joins its state in training and in
    evaluation; its results say so and ``leaderboard add`` refuses them with one line."""
    data = tmp_path / "data"
    clip = make_clip_text(tmp_path / "clip")
    assert main(["collect", "--suite", "smoke", "--episodes-per-task", "1", "--tasks", "open_drawer",
                 "--out", str(data), "--workers", "1", "--size", "48", "--gripper-size", "32"]) == 0  # fmt: skip
    run = tmp_path / "control"
    common = ["--steps", "2", "--batch-size", "2", "--warmup-steps", "1", "--device", "cpu", *_model_overrides(clip)]
    assert main(["train", "--agent", "gr1", "--data", str(data), "--set", "scene_state=true", "--out", str(run),
                 *common]) == 0  # fmt: skip
    saved = json.loads((run / "checkpoints" / "step-0000002" / "config.json").read_text())
    info = json.loads((data / "meta" / "info.json").read_text())
    scene = info["features"]["observation.environment_state"]["shape"][0]
    assert saved["model"]["state_dim"] == 15 + scene and saved["privileged_inputs"] == ["scene_obs"]
    assert "observation.environment_state" in saved["normalizer"]["mean"]

    out = tmp_path / "eval"
    assert main(["eval", "--agent", "gr1", "--checkpoint", str(run), "--suite", "smoke", "--task", "open_drawer",
                 "--out", str(out)]) == 0  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    record = results["episodes"][0] if "episodes" in results else results["records"][0]
    assert record["failure"] is None and record["steps"] > 0  # it was given scene_obs at every step
    assert results["agent"]["privileged_inputs"] == ["scene_obs"]
    capsys.readouterr()
    boards = tmp_path / "boards"
    assert main(["leaderboard", "add", str(out / "results.json"), "--name", "control",
                 "--submissions", str(boards)]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "read the simulator's scene_obs" in err and len(err.strip().splitlines()) == 1
    assert not boards.exists() or not any(boards.rglob("*.json"))
