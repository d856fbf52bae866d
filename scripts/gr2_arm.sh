#!/usr/bin/env bash
# One arm of the GR-2 four-task experiment (issue 18 item 4, docs/training.md "The four-task experiment"):
# fine-tuning from the tokenizer alone (BASE/vqgan, scripts/gr2_experiment.sh's) on its 100 demonstrations
# per task (BASE/data4), video weight 0.1, batch 8, lr 3e-4, with the arm's own --set options, one run per
# fine-tuning seed (two at a time), each on the four tasks' seen episodes and as many drawn with the public
# validation secret. CPU seconds of every command go to WORKDIR/cpu.txt. Rerun to resume.
# Usage: scripts/gr2_arm.sh WORKDIR BASE NAME STEPS "SEEDS" [--set KEY=VALUE ...]
#   e.g. scripts/gr2_arm.sh runs/gr2-arms runs/gr2-experiment langstep 4000 "0 1" --set lang_every_step=true
set -euo pipefail
[ $# -ge 5 ] || { sed -n 2,8p "$0" >&2; exit 2; }
W=$1 BASE=$2 NAME=$3 STEPS=$4 SEEDS=$5
shift 5
TASKS=open_drawer,close_drawer,move_slider_left,move_slider_right
export MUJOCO_GL=egl OMP_NUM_THREADS=1
mkdir -p "$W"
[ -d "$BASE/vqgan/checkpoints/step-0001500" ] || { echo "no tokenizer in $BASE/vqgan: run scripts/gr2_experiment.sh $BASE first" >&2; exit 2; }

. "$(dirname "$0")/experiment_timing.sh"  # timed NAME COMMAND..., seen_and_drawn

train() {  # SEED ARGS...: the fine-tuning, resuming a killed run
    local seed=$1 name=$NAME-seed$1
    shift
    [ -d "$W/$name/checkpoints/step-$(printf %07d "$STEPS")" ] && return 0
    local resume=()
    compgen -G "$W/$name/checkpoints/step-*" > /dev/null && resume=(--resume)
    timed "$name" gr-bench train --agent gr2 --stage finetune --data "$BASE/data4" --tokenizer "$BASE/vqgan" \
        --set video_weight=0.1 --batch-size 8 --lr 3e-4 --warmup-steps 200 --checkpoint-every 500 --log-every 50 \
        --steps "$STEPS" --threads 1 --device cpu --seed "$seed" "${resume[@]}" "$@" --out "$W/$name"
}

read -ra seeds <<< "$SEEDS"
for ((i = 0; i < ${#seeds[@]}; i += 2)); do
    train "${seeds[i]}" "$@" &
    [ $((i + 1)) -lt ${#seeds[@]} ] && train "${seeds[i + 1]}" "$@" &
    wait
done
for seed in "${seeds[@]}"; do
    seen_and_drawn gr2 "$NAME-seed$seed" "$TASKS"
done
