# Sourced by the experiment scripts (scripts/*_experiment.sh), with W set to the work folder.
# timed NAME COMMAND...: run it, its output to W/NAME.log, "NAME user-seconds system-seconds" to
# W/cpu.txt. Run two timed commands side by side each in the background (then wait): a foreground
# `time` also counts a background job that ends while it runs.
timed() {
    local name=$1
    shift
    local TIMEFORMAT="$name %U %S"
    { time "$@" >> "$W/$name.log" 2>&1; } 2>> "$W/cpu.txt"
}

# seen_and_drawn AGENT RUN TASKS [EVAL ARGS...]: the checkpoint W/RUN on the comma-separated TASKS'
# seen episodes (W/RUN-seen) and on as many drawn with the public validation secret (W/RUN-drawn; the
# secret is the scene-state experiment's, so every four-task experiment draws the same episodes),
# resumably; EVAL ARGS (e.g. --set execute_steps=5) go to both evaluations.
seen_and_drawn() {
    local agent=$1 run=$2 tasks=$3
    shift 3
    printf '%s' "gr-bench scene-state experiment: public validation draw" > "$W/secret.txt"
    [ -f "$W/$run-seen/results.json" ] || gr-bench eval --agent "$agent" --checkpoint "$W/$run" --suite seen \
        --task "$tasks" --workers 2 --resume --out "$W/$run-seen" "$@" > "$W/$run-seen.log" 2>&1
    [ -f "$W/$run-drawn/results.json" ] || gr-bench eval --agent "$agent" --checkpoint "$W/$run" --suite seen \
        --task "$tasks" --split hidden --secret-file "$W/secret.txt" --workers 2 --resume --out "$W/$run-drawn" "$@" \
        > "$W/$run-drawn.log" 2>&1
}

# paired_draws A B: runs W/A-{seen,drawn} against W/B-{seen,drawn}, episode by episode, into W/paired-{seen,drawn}.txt
paired_draws() {
    local draw
    for draw in seen drawn; do
        python scripts/reference/paired.py "$W/$1-$draw" "$W/$2-$draw" > "$W/paired-$draw.txt" || true
    done
}
