"""How well a GR-3 checkpoint's VLM answers questions about held-out simulated scenes.

Greedy answers (agents.gr3.backbone.Backbone.answer) to every question of a ``gr-bench collect-vl``
folder (collect it with another ``--key`` than the training data, so the scenes are new), scored
by exact match per kind of question, and for grounding also by box IoU >= 0.5.

    python scripts/vqa_accuracy.py --checkpoint runs/gr3-cotrained --data data/vl-heldout [--out table.md]
"""

from __future__ import annotations

import argparse
from collections import defaultdict


def iou(a: list[float], b: list[float]) -> float:
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, right - left) * max(0.0, bottom - top)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area if area > 0 else 0.0


def _box(text: str) -> list[float] | None:
    parts = text.split()
    if len(parts) != 4:
        return None
    try:
        return [float(p) for p in parts]
    except ValueError:
        return None


def main() -> None:
    import torch
    from tqdm import tqdm

    from agents.data.vqa import VQADataset
    from agents.gr3.agent import load_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="a GR-3 checkpoint or training run")
    parser.add_argument("--data", required=True, help="a gr-bench collect-vl folder of held-out scenes")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--out", help="also write the table (markdown) here")
    parser.add_argument(
        "--prior",
        help="training VL folder: also score a blind answerer (each question's most common training answer)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, _ = load_model(args.checkpoint)
    cameras = model.adapter.cameras
    size = (model.config.image_size, model.config.image_size)
    data = VQADataset(args.data, cameras, image_size=size)
    kinds = [q["kind"] for q in data.questions]
    right, box_hits, total = defaultdict(int), defaultdict(int), defaultdict(int)
    blind, prior_right = {}, defaultdict(int)
    if args.prior:
        import json
        from collections import Counter

        seen: dict[str, Counter] = defaultdict(Counter)
        with open(f"{args.prior}/questions.jsonl", encoding="utf-8") as f:
            for line in f:
                q = json.loads(line)
                seen[q["question"]][q["answer"]] += 1
        blind = {question: answers.most_common(1)[0][0] for question, answers in seen.items()}
    for start in tqdm(range(0, len(data), args.batch), desc="answering", unit="batch"):
        items = [data[i] for i in range(start, min(start + args.batch, len(data)))]
        views = [torch.stack([it[cam] for it in items]) for cam in cameras]
        said = model.backbone.answer(views, [it["question"] for it in items])
        for offset, (item, answer) in enumerate(zip(items, said, strict=True)):
            kind = kinds[start + offset]
            total[kind] += 1
            right[kind] += answer == item["answer"]
            prior_right[kind] += blind.get(item["question"]) == item["answer"]
            if kind == "grounding":
                got, want = _box(answer), _box(item["answer"])
                box_hits[kind] += bool(got and want and iou(got, want) >= 0.5)
    lines = ["| kind | questions | exact match | box IoU >= 0.5 | blind prior, exact match |", "|---|---|---|---|---|"]
    for kind in sorted(total):
        box = f"{box_hits[kind] / total[kind]:.1%}" if kind == "grounding" else ""
        prior = f"{prior_right[kind] / total[kind]:.1%}" if blind else ""
        lines.append(f"| {kind} | {total[kind]} | {right[kind] / total[kind]:.1%} | {box} | {prior} |")
    n = sum(total.values())
    prior = f"{sum(prior_right.values()) / n:.1%}" if blind else ""
    lines.append(f"| all | {n} | {sum(right.values()) / n:.1%} | | {prior} |")
    table = "\n".join(lines)
    print(f"{args.checkpoint} on {args.data}\n{table}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
