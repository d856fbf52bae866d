#!/usr/bin/env bash
# The GR-1 experiment reported in docs/training.md: a tiny GR-1 trained from scratch on four tasks, and
# the same fine-tuning after video pre-training (GR-1's ablation). CPU, one thread per process.
# Usage: scripts/gr1_experiment.sh [WORKDIR]   (about 1.5 hours on a 2-core machine)
set -euo pipefail
W=${1:-runs/gr1-experiment}
TASKS=open_drawer,close_drawer,move_slider_left,move_slider_right
export MUJOCO_GL=egl OMP_NUM_THREADS=1
mkdir -p "$W"
# demonstrations of the four tasks, and a video corpus of every task (its actions are not used)
gr-bench collect --suite seen --episodes-per-task 100 --tasks $TASKS --out "$W/data4" --workers 2
gr-bench collect --suite seen --episodes-per-task 8 --out "$W/data34" --workers 2
FT="--agent gr1 --config tiny --steps 4000 --batch-size 8 --lr 5e-4 --warmup-steps 200 --checkpoint-every 500 --log-every 50"
# from scratch, and video pre-training (no actions) then the same fine-tuning budget
gr-bench train $FT --data "$W/data4" --out "$W/scratch" &
gr-bench train --agent gr1 --config tiny --stage pretrain --videos "$W/data34" --steps 2000 --batch-size 8 \
    --lr 5e-4 --warmup-steps 200 --checkpoint-every 500 --log-every 50 --out "$W/pretrain"
gr-bench train $FT --data "$W/data4" --init "$W/pretrain/checkpoints/step-0002000" --out "$W/pretrained"
wait
python scripts/training_curve.py --run scratch="$W/scratch" --run video-pretrained="$W/pretrained" \
    --suite seen --task $TASKS --every 2 --baseline 0.0 --out "$W/curve_seen.png"
for run in scratch pretrained; do
    gr-bench eval --agent gr1 --checkpoint "$W/$run" --suite unseen --task $TASKS --workers 2 --out "$W/$run-unseen"
done
