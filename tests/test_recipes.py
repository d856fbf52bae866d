"""``gr-bench train --recipe``: collect then train in one command, resumable, CPU time recorded."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from gr_bench import recipes  # noqa: E402
from gr_bench.cli import main  # noqa: E402

# a GR-2 small enough to train a few steps in a test, and a schedule that checkpoints every other step
GR2_SMALL = {"layers": 1, "hidden": 64, "heads": 2, "history": 2, "chunk": 3, "cvae_hidden": 32, "latent_dim": 8}
QUICK = {"batch_size": 2, "warmup_steps": 1, "checkpoint_every": 2}


def test_reference_recipes_are_declared():
    assert set(recipes.RECIPES) == {"gr1-tiny", "gr1-tiny-scene-state", "gr2-tiny", "gr3-tiny"}
    control = recipes.RECIPES["gr1-tiny-scene-state"]  # gr1-tiny's recipe but for the privileged state
    assert control.overrides == {"scene_state": True}
    assert {**recipes.RECIPES["gr1-tiny"].__dict__, "name": control.name, "description": control.description,
            "overrides": control.overrides} == control.__dict__  # fmt: skip
    gr3 = recipes.RECIPES["gr3-tiny"]
    assert gr3.agent == "gr3" and {c.env for c in gr3.collections} == {"GRBench/Tabletop-v0", "GRBench/Tidy-v0"}
    # GR-3 reuses GR-1's tabletop data
    assert recipes.RECIPES["gr1-tiny"].collections == recipes.RECIPES["gr3-tiny"].collections[:1]
    gr2 = recipes.RECIPES["gr2-tiny"]  # its tokenizer first, the model fine-tuned with it (no pre-training: measured)
    assert [s.agent for s in gr2.before] == ["vqgan"] and gr2.tokenizer == "vqgan" and gr2.init is None
    assert gr2.collections == recipes.RECIPES["gr1-tiny"].collections
    with pytest.raises(ValueError, match="is none of its stages"):
        recipes.Recipe("bad", "gr2", "", (), before=(recipes.Stage("vqgan", "vqgan", 1),), init="pretrain")
    with pytest.raises(ValueError, match="is no earlier stage"):
        recipes.Recipe("bad", "gr2", "", (), before=(recipes.Stage("pre", "gr2", 1, tokenizer="vqgan"),))


def test_a_recipe_collects_trains_and_resumes(tmp_path, monkeypatch, capsys):
    tiny = recipes.Recipe(
        "test-tiny",
        "gr1",
        "GR-1 tiny on smoke's four tasks, one demonstration each",
        (recipes.Collection("smoke", "GRBench/Tabletop-v0", "smoke", 1),),
        overrides={"history": 2},
        steps=4,
        batch_size=2,
        warmup_steps=1,
        checkpoint_every=2,
    )
    monkeypatch.setitem(recipes.RECIPES, tiny.name, tiny)
    work, data = tmp_path / "work", tmp_path / "data"
    args = ["train", "--recipe", "test-tiny", "--out", str(work), "--data-root", str(data)]
    assert main(args + ["--max-minutes", "1e-6"]) == 0  # stops after its first step, with a checkpoint
    first = json.loads((work / "recipe.json").read_text())
    assert first["step"] == 1 and not first["done"] and (data / "smoke" / "meta" / "info.json").is_file()
    assert main(args) == 0  # the same command continues the run
    out = capsys.readouterr().out
    assert "resuming" in out and "step 4 of 4" in out
    ledger = json.loads((work / "recipe.json").read_text())
    assert ledger["done"] and ledger["recipe"]["name"] == "test-tiny" and ledger["machine"]["cores"] >= 1
    assert set(ledger["cpu_seconds"]) == {"collect:smoke", "train"} and ledger["cpu_seconds"]["train"] > 0
    assert ledger["cpu_seconds"]["train"] >= first["cpu_seconds"]["train"]  # summed over both calls
    saved = json.loads((work / "train" / "checkpoints" / "step-0000004" / "config.json").read_text())
    assert saved["recipe"] == "test-tiny" and saved["agent"] == "gr1"

    monkeypatch.setitem(recipes.RECIPES, tiny.name, tiny.__class__(**{**tiny.__dict__, "steps": 8, "lr": 1.0}))
    assert main(args) == 2  # another version of the recipe is not mixed into this run
    assert "another version of recipe" in capsys.readouterr().err
    assert main(["train", "--recipe", "gr9-tiny"]) == 2
    assert "gr1-tiny" in capsys.readouterr().err


def test_a_recipe_with_earlier_stages_trains_them_in_order_and_resumes(tmp_path, monkeypatch, capsys):
    """GR-2's shape: a tokenizer, video pre-training with it, then the model from the pre-training;
    a call stopped inside a stage continues it, a finished stage is not trained again."""
    staged = recipes.Recipe(
        "test-staged",
        "gr2",
        "GR-2 tiny on one smoke task",
        (recipes.Collection("smoke", "GRBench/Tabletop-v0", "smoke", 1),),
        steps=2,
        before=(
            recipes.Stage("vqgan", "vqgan", 2, overrides={"image_size": 32}, **QUICK),
            recipes.Stage("pretrain", "gr2", 4, stage="pretrain", overrides=GR2_SMALL, tokenizer="vqgan", **QUICK),
        ),
        init="pretrain",
        overrides={"video_weight": 0.1},  # a loss weight of the pre-trained model, changed for fine-tuning
        **QUICK,
    )
    monkeypatch.setitem(recipes.RECIPES, staged.name, staged)
    work, data = tmp_path / "work", tmp_path / "data"
    args = ["train", "--recipe", "test-staged", "--out", str(work), "--data-root", str(data)]
    assert main(args + ["--max-minutes", "1e-6"]) == 0  # the tokenizer's first step, then it stops
    first = json.loads((work / "recipe.json").read_text())
    assert (first["stage"], first["step"], first["done"]) == ("vqgan", 1, False)
    assert not (work / "pretrain").exists()
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "[vqgan] resuming" in out and "step 2 of 2" in out
    ledger = json.loads((work / "recipe.json").read_text())
    assert ledger["done"] and set(ledger["cpu_seconds"]) == {"collect:smoke", "train:vqgan", "train:pretrain", "train"}
    pre = json.loads((work / "pretrain" / "checkpoints" / "step-0000004" / "config.json").read_text())
    final = json.loads((work / "train" / "checkpoints" / "step-0000002" / "config.json").read_text())
    assert pre["agent"] == final["agent"] == "gr2" and final["recipe"] == "test-staged"
    assert final["model"]["hidden"] == 64 and final["model"]["video_weight"] == 0.1  # the pre-training's model
    assert main(args) == 0  # everything done: nothing trains again
    assert "[vqgan] done" in capsys.readouterr().out


def test_a_model_stage_fed_a_tokenizer_stage_directly(tmp_path, monkeypatch):
    """gr2-tiny's shape: the tokenizer, then the model trained with it (no pre-training in between); the
    model takes the tokenizer's image size and the recipe's own fields."""
    direct = recipes.Recipe(
        "test-direct",
        "gr2",
        "GR-2 tiny on one smoke task, from its tokenizer",
        (recipes.Collection("smoke", "GRBench/Tabletop-v0", "smoke", 1),),
        steps=2,
        before=(recipes.Stage("vqgan", "vqgan", 2, overrides={"image_size": 32}, **QUICK),),
        tokenizer="vqgan",
        overrides={**GR2_SMALL, "video_weight": 0.1},
        **QUICK,
    )
    monkeypatch.setitem(recipes.RECIPES, direct.name, direct)
    work = tmp_path / "work"
    args = ["train", "--recipe", "test-direct", "--out", str(work), "--data-root", str(tmp_path / "data")]
    assert main(args) == 0
    ledger = json.loads((work / "recipe.json").read_text())
    assert ledger["done"] and set(ledger["cpu_seconds"]) == {"collect:smoke", "train:vqgan", "train"}
    final = json.loads((work / "train" / "checkpoints" / "step-0000002" / "config.json").read_text())
    assert final["model"]["image_size"] == 32 and final["model"]["hidden"] == 64
    assert final["model"]["video_weight"] == 0.1 and final["model"]["action_loss"]
