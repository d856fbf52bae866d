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
