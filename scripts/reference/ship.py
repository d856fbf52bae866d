"""Ship a reference checkpoint: copy it into agents/reference/NAME/ and write its MODEL_CARD.md.

The card is written from what was measured: the recipe's ``recipe.json`` (data, steps, CPU time,
machine), the learning curve (``curve.csv`` of the training run) and the evaluation runs given
with ``--results`` (the checkpoint's own runs, with ``--blind`` the blind control's and with
``--random`` random's, per suite). Every rate carries its 95% Wilson interval.

    python scripts/reference/ship.py --recipe gr3-tiny --step 100000 \
        --results seen=runs/seen-gr3 --results unseen=runs/unseen-gr3 \
        --blind seen=runs/seen-gr3-blind --random seen=leaderboards/submissions/seen/v2/random-gr-bench-reference.json
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLETOP = "GRBench/Tabletop-v0"


def load_results(path: str) -> dict:
    """results.json of a run folder, a results file, or a leaderboard submission."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    data = json.loads(p.read_text(encoding="utf-8"))
    return data.get("results", data)


def pairs(items: list[str] | None) -> dict[str, dict]:
    out = {}
    for item in items or []:
        suite, _, path = item.partition("=")
        out[suite] = load_results(path)
    return out


def rate(agg: dict | None) -> str:
    if not agg or not agg.get("n"):
        return "n/a"
    low, high = agg["ci95"]
    return f"{100 * agg['rate']:.1f}% [{_pct(low)}, {_pct(high)}] ({agg['successes']}/{agg['n']})"


def _pct(x: float) -> str:
    """A bound in percent: whole numbers, but a small one not rounded away (0/2000 is [0, 0.2])."""
    return f"{100 * x:.1f}" if 0 < 100 * x < 1 else f"{100 * x:.0f}"


def _chains(res: dict | None, like: dict | None = None) -> str:
    """Tasks done per chain, per protocol, where ``res`` ran chains (only the protocols ``like``
    ran, where given: random's whole-suite run beside a model's one track)."""
    per = (res or {}).get("aggregates", {}).get("chains_per_axis", {})
    if like is not None:
        per = {k: v for k, v in per.items() if k in like.get("aggregates", {}).get("chains_per_axis", {})}
    if not per:
        return ""
    return "; tasks per chain " + ", ".join(
        f"{axis.removeprefix('long_horizon_')} {stats['avg_len']:.2f}" for axis, stats in per.items()
    )


def _same_part(other: dict | None, mine: dict) -> dict | None:
    """``other``'s overall over the part of the suite ``mine`` ran: where ``mine`` ran one
    environment's episodes (a track) and ``other`` the whole suite, that environment's aggregate."""
    if not other:
        return None
    envs = list(mine["aggregates"].get("per_env", {}))
    if len(envs) == 1 and len(other["aggregates"].get("per_env", {})) > 1:
        return other["aggregates"]["per_env"].get(envs[0], {}).get("overall")
    return other["aggregates"].get("overall")


def _stages(recipe: dict) -> list[str]:
    """A line for the stages trained before the model's own (a tokenizer, a pre-training), if any."""
    before = recipe.get("before") or []
    if not before:
        return []
    return [
        "- **Stages before it**: "
        + "; ".join(
            f"`{b['name']}` (agent `{b['agent']}`, config `{b['config']}`): {b['steps']} steps "
            f"of batch {b['batch_size']}, lr {b['lr']} (warmup {b['warmup_steps']})"
            for b in before
        )
        + "."
    ]


def card(args, recipe_json: dict, saved: dict, sha: str, size_mb: float) -> str:
    results, blind, random = pairs(args.results), pairs(args.blind), pairs(args.random)
    recipe = recipe_json["recipe"]
    cpu = recipe_json["cpu_seconds"]
    machine = recipe_json["machine"]
    lines = [f"# {recipe['name']}: {recipe['description']}", ""]
    if args.note:
        lines += [f"> {args.note}", ""]
    lines += [
        f"- **Agent** `{recipe['agent']}`, config `{recipe['config']}` with {recipe['overrides'] or 'no overrides'}; "
        f"checkpoint sha256 `{sha}` ({size_mb:.1f} MB of weights).",
        "- **Data**: "
        + "; ".join(
            f"{c['episodes_per_task']} expert demonstrations per task of `{c['suite']}` in {c['env']} "
            f"(its training scenes and phrasings, training-range variations)"
            for c in recipe["collections"]
        )
        + ". Collection seeds lie above every suite seed: no evaluated initial state was trained on.",
        *_stages(recipe),
        f"- **Training**: {saved['step']} steps of batch {recipe['batch_size']}, lr {recipe['lr']} "
        f"(warmup {recipe['warmup_steps']}, cosine decay), seed {recipe['seed']}"
        + (f", with the frozen tokenizer of stage `{recipe['tokenizer']}`" if recipe.get("tokenizer") else "")
        + (f", starting from stage `{recipe['init']}`" if recipe.get("init") else "")
        + ".",
        f"- **CPU time** (the run's ledger when this was shipped): {sum(cpu.values()) / 3600:.2f} h in all ("
        + ", ".join(f"{k} {v / 3600:.2f} h" for k, v in cpu.items())
        + f"), on {machine['cpu']} ({machine['cores']} cores, {machine['device']}), torch {machine['torch']}.",
        f"- **Reproduce**: `gr-bench train --recipe {recipe['name']} --workers 2` "
        f"(then this checkpoint is `runs/reference/{recipe['name']}/train/checkpoints/step-{saved['step']:07d}`).",
        "",
    ]
    if args.curve:
        lines += [
            "## Validation curve",
            "",
            "Success of the run's checkpoints on the public validation slice (`scripts/reference/curve.py`: "
            "`seen` episodes re-seeded with a public secret, so neither the released suite's nor any "
            "demonstration's initial states).",
            "",
            f"![learning curve]({Path(args.curve).name})",
            "",
        ]
        table = Path(args.curve).with_suffix(".csv")
        if table.is_file():
            import csv

            with open(table, encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            lines += ["| step | environment | success | 95% interval |", "|---|---|---|---|"]
            lines += [
                f"| {r['step']}{' (blind)' if r['blind'] == 'True' else ''} | {r['env']} | "
                f"{r['successes']}/{r['n']} | [{100 * float(r['ci_low']):.0f}%, {100 * float(r['ci_high']):.0f}%] |"
                for r in rows
            ]
            lines.append("")
    if results:
        lines += [
            "## Results",
            "",
            "Success with 95% Wilson intervals; the blind control is this checkpoint with every camera image "
            "replaced by a constant grey image.",
            "",
            "| suite | this model | blind control | random |",
            "|---|---|---|---|",
        ]
        for suite, res in results.items():
            overall = res["aggregates"]["overall"]
            b = blind.get(suite, {}).get("aggregates", {}).get("overall")
            r = _same_part(random.get(suite), res)
            lines.append(
                f"| {suite} | {rate(overall)}{_chains(res)} | {rate(b)}{_chains(blind.get(suite), res)} | "
                f"{rate(r)}{_chains(random.get(suite), res)} |"
            )
        lines.append("")
        for suite, res in results.items():
            for env, agg in res["aggregates"]["per_env"].items():
                for group in ("per_axis", "per_category"):
                    rows = agg.get(group) or {}
                    if len(rows) < 2:
                        continue
                    title = f"### {suite}, {env}, {group.removeprefix('per_')}"
                    lines += [title, "", "| value | success |", "|---|---|"]
                    lines += [f"| {k} | {rate(v)} |" for k, v in rows.items()]
                    lines.append("")
        seen_tabletop = results.get("seen", {}).get("aggregates", {}).get("per_env", {}).get(TABLETOP)
        if seen_tabletop:  # read by the slow test of tests/test_reference_agents.py
            lines += [
                f"Slow-test anchor: seen tabletop rate = {seen_tabletop['overall']['rate']:.4f} "
                f"({seen_tabletop['overall']['successes']}/{seen_tabletop['overall']['n']}); "
                "`pytest -m slow tests/test_reference_agents.py` runs 20 evenly spaced tabletop episodes of `seen` "
                "and expects this rate inside their 95% interval.",
                "",
            ]
        if "seen" in results:
            per_task = results["seen"]["aggregates"]["per_task"]
            blind_task = blind.get("seen", {}).get("aggregates", {}).get("per_task", {})
            lines += [
                "## Per task on `seen`",
                "",
                "A task the blind control solves as often as the model is marked: it can be solved without looking, "
                "a weakness of the task, not a skill of the model.",
                "",
                "| task | this model | blind control | |",
                "|---|---|---|---|",
            ]
            for task, agg in sorted(per_task.items()):
                b = blind_task.get(task)
                flag = "**solvable blind**" if b and b["successes"] >= agg["successes"] and agg["successes"] else ""
                lines.append(f"| {task} | {rate(agg)} | {rate(b)} | {flag} |")
            lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", required=True)
    parser.add_argument("--workdir", help="the recipe's work folder (default runs/reference/RECIPE)")
    parser.add_argument("--step", type=int, help="the checkpoint's step (default: the run's last)")
    parser.add_argument("--results", action="append", metavar="SUITE=RUN")
    parser.add_argument("--blind", action="append", metavar="SUITE=RUN")
    parser.add_argument("--random", action="append", metavar="SUITE=RUN")
    parser.add_argument("--curve", help="a learning-curve picture to ship beside the card (its .csv is tabled)")
    parser.add_argument("--note", help="a status line at the top of the card (e.g. why this step is provisional)")
    args = parser.parse_args()
    from agents.train.checkpoint import CONFIG, WEIGHTS, checkpoint_sha256, last_checkpoint

    work = Path(args.workdir or f"runs/reference/{args.recipe}")
    checkpoints = work / "train" / "checkpoints"
    source = checkpoints / f"step-{args.step:07d}" if args.step else last_checkpoint(checkpoints)
    if source is None or not (source / WEIGHTS).is_file():
        raise SystemExit(f"no checkpoint {source or checkpoints}")
    dest = ROOT / "agents" / "reference" / args.recipe
    dest.mkdir(parents=True, exist_ok=True)
    for name in (CONFIG, WEIGHTS):
        shutil.copyfile(source / name, dest / name)
    if args.curve:
        shutil.copyfile(args.curve, dest / Path(args.curve).name)
    saved = json.loads((dest / CONFIG).read_text(encoding="utf-8"))
    recipe_json = json.loads((work / "recipe.json").read_text(encoding="utf-8"))
    size_mb = (dest / WEIGHTS).stat().st_size / 2**20
    text = card(args, recipe_json, saved, checkpoint_sha256(dest), size_mb)
    (dest / "MODEL_CARD.md").write_text(text + "\n", encoding="utf-8")
    print(f"shipped {source} -> {dest} ({size_mb:.1f} MB), sha256 {checkpoint_sha256(dest)}")


if __name__ == "__main__":
    main()
