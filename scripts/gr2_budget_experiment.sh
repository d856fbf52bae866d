#!/usr/bin/env bash
# Does a cheaper tokenizer buy GR-2 the fine-tuning steps it is short of? (issue 18 item 4, docs/training.md
# "The four-task experiment": 300 demonstrations at 4,000 steps did worse than 100, averaging did not help.)
# The same 45 CPU-minutes split differently: the VQGAN tokenizer 750 steps instead of 1,500 (about 9 CPU-min
# instead of 18), fine-tuning 5,800 steps instead of 4,000 (about 34 CPU-min instead of 24), on the same 100
# demonstrations per task (BASE/data4; the tokenizer on BASE/data34's frames, as before), video weight 0.1,
# fine-tuning seeds 0-2; each on the four tasks' seen episodes and as many drawn with the public validation
# secret, to pair with scripts/gr2_data_experiment.sh's demos100 runs.
# CPU seconds of every command go to WORKDIR/cpu.txt. Rerun to resume (finished steps are skipped).
# Usage: scripts/gr2_budget_experiment.sh [WORKDIR] [BASE]   (BASE: scripts/gr2_experiment.sh's work folder)
set -euo pipefail
W=${1:-runs/gr2-budget}
BASE=${2:-runs/gr2-experiment}
TASKS=open_drawer,close_drawer,move_slider_left,move_slider_right
TOKENIZER_STEPS=750
STEPS=5800
export MUJOCO_GL=egl OMP_NUM_THREADS=1
mkdir -p "$W"
[ -f "$BASE/data4/meta/info.json" ] || { echo "no data in $BASE: run scripts/gr2_experiment.sh $BASE first" >&2; exit 2; }

. "$(dirname "$0")/experiment_timing.sh"  # timed NAME COMMAND..., seen_and_drawn

train() {  # NAME STEPS ARGS...: train to STEPS, resuming a killed run
    local name=$1 steps=$2
    shift 2
    [ -d "$W/$name/checkpoints/step-$(printf %07d "$steps")" ] && return 0
    local resume=()
    compgen -G "$W/$name/checkpoints/step-*" > /dev/null && resume=(--resume)
    timed "$name" gr-bench train "$@" --steps "$steps" --threads 1 --device cpu "${resume[@]}" --out "$W/$name"
}

train vqgan$TOKENIZER_STEPS $TOKENIZER_STEPS --agent vqgan --videos "$BASE/data34" --data "$BASE/data4" --batch-size 16 \
    --lr 3e-4 --warmup-steps 100 --checkpoint-every 250 --log-every 50 --seed 0
for seed in 0 1 2; do
    train "steps$STEPS-seed$seed" $STEPS --agent gr2 --stage finetune --data "$BASE/data4" \
        --tokenizer "$W/vqgan$TOKENIZER_STEPS" --set video_weight=0.1 --batch-size 8 --lr 3e-4 --warmup-steps 200 \
        --checkpoint-every 500 --log-every 50 --seed $seed
    seen_and_drawn gr2 "steps$STEPS-seed$seed" "$TASKS"
done
cat "$W/cpu.txt"
