"""GR-2's video side on held-out demonstrations: the tokenizer's reconstruction (PSNR), next-frame token
accuracy (teacher-forced, as in training) beside the copy-the-last-frame baseline, and a picture of
predicted against real frames (each code of the frame generated greedily, given the earlier steps).

    python scripts/gr2_frames.py --checkpoint runs/gr2 --data runs/gr2-heldout \\
        [--samples 256] [--pictures 4] [--out docs/gr2_frames.png] [--json metrics.json]

Prints one line per figure; ``--json`` keeps them. CPU, one thread.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per image PSNR (dB) of images in [0, 1], (N, 3, S, S)."""
    mse = ((a - b) ** 2).flatten(1).mean(1).clamp(min=1e-10)
    return -10 * torch.log10(mse)


@torch.no_grad()
def generate_last_frame(model, codes, state, lang, mask) -> torch.Tensor:
    """The window's last step's frame codes (every camera), each code the argmax given the codes
    before it and the earlier steps (the trunk is causal, so later placeholders do not matter)."""
    codes = codes.clone()
    codes[:, -1] = 0
    t = codes.shape[1]
    for i in range(model.frame_tokens):
        frame_out, _ = model.split(model.trunk(codes, state, lang, mask), t)
        codes[:, -1, i] = model.frame_head(frame_out[:, -1, i]).argmax(-1)
    return codes[:, -1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="a GR-2 run or checkpoint (gr-bench train --agent gr2)")
    parser.add_argument("--data", required=True, help="held-out demonstrations (gr-bench collect)")
    parser.add_argument("--samples", type=int, default=256, help="windows measured (drawn evenly, fixed seed)")
    parser.add_argument("--pictures", type=int, default=4, help="windows shown in the picture")
    parser.add_argument("--out", type=Path, help="the picture (PNG)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    torch.set_num_threads(1)

    from agents.data import EpisodeWindows
    from agents.gr2.agent import load_model
    from agents.gr2.config import CAMERAS

    model, saved = load_model(args.checkpoint)
    config = model.config
    size = (config.image_size, config.image_size)
    data = EpisodeWindows(
        args.data, history=config.history, future=0, chunk=config.chunk, image_size=dict.fromkeys(CAMERAS, size)
    )
    rng = np.random.default_rng(0)
    # windows whose whole history lies inside the episode: the previous frame exists for the baseline
    full = [i for i in range(len(data)) if data.locate(i)[1] >= config.history - 1]
    chosen = sorted(rng.choice(full, size=min(args.samples, len(full)), replace=False).tolist())
    batch_size = 32
    g2 = config.grid**2
    totals = {f"psnr_{c}": [] for c in CAMERAS}
    right = {c: 0 for c in CAMERAS}
    copy_right = {c: 0 for c in CAMERAS}
    counted = 0
    for start in range(0, len(chosen), batch_size):
        items = [data[i] for i in chosen[start : start + batch_size]]
        batch = torch.utils.data.default_collate(items)
        for cam in CAMERAS:
            images = model.prepare_images(batch[cam][:, -1])
            recon = model.tokenizer.decode(model.tokenizer.encode(images))
            totals[f"psnr_{cam}"] += psnr(recon, images).tolist()
        out = model(batch, with_actions=False)
        predicted = out["frame_logits"][:, -1].argmax(-1)  # (B, F): the last step's codes, teacher-forced
        truth, previous = out["codes"][:, -1], out["codes"][:, -2]
        for i, cam in enumerate(CAMERAS):
            part = slice(i * g2, (i + 1) * g2)
            right[cam] += int((predicted[:, part] == truth[:, part]).sum())
            copy_right[cam] += int((previous[:, part] == truth[:, part]).sum())
        counted += len(items)
    figures: dict[str, float | int | str] = {
        "checkpoint": str(args.checkpoint),
        "data": str(args.data),
        "windows": counted,
    }
    for cam in CAMERAS:
        figures[f"psnr_{cam}"] = float(np.mean(totals[f"psnr_{cam}"]))
        figures[f"token_acc_{cam}"] = right[cam] / (counted * g2)
        figures[f"copy_last_acc_{cam}"] = copy_right[cam] / (counted * g2)
    for key, value in figures.items():
        print(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")

    if args.out and args.pictures:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        picks = [chosen[int(k)] for k in np.linspace(0, len(chosen) - 1, args.pictures)]
        batch = torch.utils.data.default_collate([data[i] for i in picks])
        codes = model.frame_codes(batch)
        lang = model.text(list(batch["instruction"]))
        generated = generate_last_frame(model, codes, batch["state"].float(), lang, batch["history_mask"])
        columns = ["frame t-1", "frame t (real)", "t through the tokenizer", "t predicted"]
        fig, axes = plt.subplots(len(picks) * len(CAMERAS), 4, figsize=(8, 2.1 * len(picks) * len(CAMERAS)))
        for k in range(len(picks)):
            for i, cam in enumerate(CAMERAS):
                part = slice(i * g2, (i + 1) * g2)
                grid = (config.grid, config.grid)
                shown = [
                    model.prepare_images(batch[cam][k : k + 1, -2])[0],
                    model.prepare_images(batch[cam][k : k + 1, -1])[0],
                    model.tokenizer.decode(codes[k : k + 1, -1, part].view(1, *grid))[0],
                    model.tokenizer.decode(generated[k : k + 1, part].view(1, *grid))[0],
                ]
                row = axes[k * len(CAMERAS) + i]
                for j, image in enumerate(shown):
                    row[j].imshow(image.permute(1, 2, 0).numpy())
                    row[j].set_xticks([]), row[j].set_yticks([])
                    if k == 0 and i == 0:
                        row[j].set_title(columns[j], fontsize=8)
                row[0].set_ylabel(f"{batch['instruction'][k][:22]}\n{cam[4:]}", fontsize=7)
        fig.suptitle(
            f"GR-2 tiny: next frame predicted from the previous step ({Path(args.checkpoint).name})", fontsize=9
        )
        fig.tight_layout()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.out, dpi=110)
        print(f"wrote {args.out}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
