#!/usr/bin/env bash
# Does the instruction at every step steer GR-2's actions? (issue 18 item 4, docs/training.md "The four-task
# experiment": probed along a failing episode, the one [lang] token at the head of the window hardly changed the
# action once the history filled.) The bar's arm of scripts/gr2_experiment.sh (100 demonstrations per task, its
# 1,500-step tokenizer, video weight 0.1, fine-tuning 4,000 steps of batch 8 from the tokenizer alone) with
# `lang_every_step`: GR-1's layout, the instruction's token opening every step of the window. Fine-tuning seeds
# 0-2, each on the four tasks' seen episodes and as many drawn with the public validation secret.
# CPU seconds of every command go to WORKDIR/cpu.txt. Rerun to resume (finished steps are skipped).
# Usage: scripts/gr2_lang_experiment.sh [WORKDIR] [BASE] [SEEDS]   (BASE: scripts/gr2_experiment.sh's work
# folder, whose data4 and vqgan it uses; SEEDS: default "0 1 2", trained two at a time)
set -euo pipefail
W=${1:-runs/gr2-lang}
BASE=${2:-runs/gr2-experiment}
SEEDS=${3:-0 1 2}
TASKS=open_drawer,close_drawer,move_slider_left,move_slider_right
export MUJOCO_GL=egl OMP_NUM_THREADS=1
mkdir -p "$W"
[ -d "$BASE/vqgan/checkpoints/step-0001500" ] || { echo "no tokenizer in $BASE/vqgan: run scripts/gr2_experiment.sh $BASE first" >&2; exit 2; }

. "$(dirname "$0")/experiment_timing.sh"  # timed NAME COMMAND..., seen_and_drawn

train() {  # SEED: the fine-tuning, resuming a killed run
    local name=langstep-seed$1
    [ -d "$W/$name/checkpoints/step-0004000" ] && return 0
    local resume=()
    compgen -G "$W/$name/checkpoints/step-*" > /dev/null && resume=(--resume)
    timed "$name" gr-bench train --agent gr2 --stage finetune --data "$BASE/data4" --tokenizer "$BASE/vqgan" \
        --set video_weight=0.1 --set lang_every_step=true --batch-size 8 --lr 3e-4 --warmup-steps 200 \
        --checkpoint-every 500 --log-every 50 --steps 4000 --threads 1 --device cpu --seed "$1" "${resume[@]}" \
        --out "$W/$name"
}

set -- $SEEDS
while [ $# -gt 0 ]; do
    train "$1" &
    [ $# -gt 1 ] && train "$2" &
    wait
    shift $(( $# > 1 ? 2 : 1 ))
done
for seed in $SEEDS; do
    seen_and_drawn gr2 "langstep-seed$seed" "$TASKS"
done
cat "$W/cpu.txt"
