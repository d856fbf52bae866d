#!/usr/bin/env bash
# The GR-3 experiment reported in docs/training.md: a tiny GR-3 trained on four tasks' demonstrations
#   A  status training (invalid requests swapped in), no co-training         40,000 steps
#   B  status training and co-training on vision-language data of the scenes  36,000 steps, 2 of 8 samples VL
#   C  no status training (swap_prob 0), no co-training                      40,000 steps
# each within 45 minutes of one CPU thread, then evaluated on seen, unseen, ood-instruction (incl.
# invalid). Usage: scripts/gr3_experiment.sh [WORKDIR]   (about 2.5 hours on a 2-core machine)
set -euo pipefail
W=${1:-runs/gr3-experiment}
TASKS=open_drawer,close_drawer,move_slider_left,move_slider_right
export MUJOCO_GL=egl OMP_NUM_THREADS=1
mkdir -p "$W"
[ -d "$W/data4" ] || gr-bench collect --suite seen --episodes-per-task 100 --tasks $TASKS --out "$W/data4" --workers 2
[ -d "$W/vl" ] || gr-bench collect-vl --scenes 1500 --out "$W/vl"
COMMON="--agent gr3 --config tiny --data $W/data4 --batch-size 8 --lr 3e-4 --warmup-steps 500 --checkpoint-every 5000 --log-every 100"
gr-bench train $COMMON --steps 40000 --out "$W/A" &
gr-bench train $COMMON --steps 36000 --vl-data "$W/vl" --set vl_fraction=0.25 --out "$W/B" &
wait
gr-bench train $COMMON --steps 40000 --set swap_prob=0 --out "$W/C"
for run in A B C; do
    gr-bench eval --agent gr3 --checkpoint "$W/$run" --suite seen --task $TASKS --workers 2 --out "$W/$run-seen"
    gr-bench eval --agent gr3 --checkpoint "$W/$run" --suite ood-instruction --env GRBench/Tabletop-v0 \
        --category invalid --workers 2 --out "$W/$run-invalid"
done
for run in A B; do
    gr-bench eval --agent gr3 --checkpoint "$W/$run" --suite unseen --task $TASKS --workers 2 --out "$W/$run-unseen"
    gr-bench eval --agent gr3 --checkpoint "$W/$run" --suite ood-instruction --task $TASKS --workers 2 \
        --out "$W/$run-ood"
done
for suite in seen unseen; do
    gr-bench eval --agent random --suite $suite --task $TASKS --workers 2 --out "$W/random-$suite"
done
gr-bench eval --agent random --suite ood-instruction --task $TASKS --workers 2 --out "$W/random-ood"
gr-bench eval --agent random --suite ood-instruction --env GRBench/Tabletop-v0 --category invalid --out "$W/random-invalid"
