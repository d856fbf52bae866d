#!/usr/bin/env bash
# Is GR-1 short of demonstrations? (issue 13 item 4, docs/training.md "How much the references are
# short of data"). The four block tasks of the scene-state experiment (lift the red and the pink
# block off the table, push the blue block left, rotate the red block right; none solvable blind),
# GR-1 tiny trained the same way, same steps, on 100 and on 500 expert demonstrations per task (the
# 500 include the 100: collection seeds do not depend on the count), one thread each, side by side;
# then both on the four tasks' seen episodes and on as many drawn with the public validation secret
# (the scene-state experiment's), paired by episode.
# CPU seconds of every command go to WORKDIR/cpu.txt. Rerun to resume (finished steps are skipped).
# Usage: scripts/data_scaling_experiment.sh [WORKDIR] [STEPS]
set -euo pipefail
W=${1:-runs/data-scaling}
STEPS=${2:-10000}
TASKS=lift_red_block_table,lift_pink_block_table,push_blue_block_left,rotate_red_block_right
export MUJOCO_GL=egl OMP_NUM_THREADS=1
mkdir -p "$W"

. "$(dirname "$0")/experiment_timing.sh"  # timed NAME COMMAND..., seen_and_drawn, paired_draws

collect() {  # N: demonstrations per task into W/dataN
    [ -f "$W/data$1/meta/info.json" ] || timed "collect$1" gr-bench collect --suite seen --episodes-per-task "$1" \
        --tasks $TASKS --out "$W/data$1" --workers 2
}

train() {  # N: GR-1 tiny on W/dataN to STEPS, resuming a killed run
    local name=demos$1
    [ -d "$W/$name/checkpoints/step-$(printf %07d "$STEPS")" ] && return 0
    local resume=()
    compgen -G "$W/$name/checkpoints/step-*" > /dev/null && resume=(--resume)
    timed "$name" gr-bench train --agent gr1 --config tiny --data "$W/data$1" --steps "$STEPS" --batch-size 8 --lr 5e-4 \
        --warmup-steps 200 --checkpoint-every 1000 --log-every 100 --threads 1 --device cpu --seed 0 \
        "${resume[@]}" --out "$W/$name"
}

collect 100
collect 500
train 100 &
train 500 &
wait

for run in demos100 demos500; do
    seen_and_drawn gr1 "$run" "$TASKS"
done
paired_draws demos100 demos500
cat "$W/cpu.txt"
