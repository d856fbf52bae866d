#!/usr/bin/env bash
# Is GR-1's weakness on block tasks perception? (issue 13, docs/training.md "A control with the
# simulator's scene state"). Four block tasks that the shipped gr1-tiny mostly fails; 100 expert
# demonstrations each; the same tiny GR-1 recipe twice, side by side, one thread each:
#   pixels       cameras and robot_obs, as every reference
#   scene-state  the same plus the simulator's scene_obs (block poses, drawer, slider, ...)
# then both on the four tasks' seen episodes and on as many again drawn with the public validation
# secret (neither a demonstration's nor the release's starts), paired by episode.
# CPU seconds of every command go to WORKDIR/cpu.txt. Rerun to resume (finished steps are skipped).
# Usage: scripts/scene_state_experiment.sh [WORKDIR] [STEPS]
set -euo pipefail
W=${1:-runs/scene-state-experiment}
STEPS=${2:-5000}
TASKS=lift_red_block_table,lift_pink_block_table,push_blue_block_left,rotate_red_block_right
export MUJOCO_GL=egl OMP_NUM_THREADS=1
mkdir -p "$W"

. "$(dirname "$0")/experiment_timing.sh"  # timed NAME COMMAND..., seen_and_drawn, paired_draws

train() {  # NAME ARGS...: train to STEPS, resuming a killed run
    local name=$1
    shift
    [ -d "$W/$name/checkpoints/step-$(printf %07d "$STEPS")" ] && return 0
    local resume=()
    compgen -G "$W/$name/checkpoints/step-*" > /dev/null && resume=(--resume)
    timed "$name" gr-bench train --agent gr1 --config tiny --data "$W/data" --steps "$STEPS" --batch-size 8 --lr 5e-4 \
        --warmup-steps 200 --checkpoint-every 1000 --log-every 100 --threads 1 --device cpu --seed 0 \
        "$@" "${resume[@]}" --out "$W/$name"
}

[ -f "$W/data/meta/info.json" ] || timed collect gr-bench collect --suite seen --episodes-per-task 100 --tasks $TASKS \
    --out "$W/data" --workers 2
train pixels &
train scene-state --set scene_state=true &
wait

for run in pixels scene-state; do
    seen_and_drawn gr1 "$run" "$TASKS"
done
paired_draws pixels scene-state
cat "$W/cpu.txt"
