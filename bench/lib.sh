# Shared by the bench scripts: measuring commands side by side and reporting medians and
# ratios. Source it after setting `work` (a temporary folder) and `script` (the caller's
# name for messages); each tool's command line is an array named command_<tool> (dashes
# in the tool's name become underscores).

# absolute_tool PATH: PATH made absolute (empty stays empty), so a re-executed script and
# the tools it starts find it from any folder.
absolute_tool() {
    [[ -z $1 ]] || echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
}

# run_on_testbed SCRIPT ARG...: outside a test bed, re-execute SCRIPT inside
# tests/testbed/run (a private pcscd with the virtual PIV card); inside one, return.
run_on_testbed() {
    [[ -n ${CACTOOL_TESTBED_DIR:-} ]] ||
        exec "$(dirname "${BASH_SOURCE[0]}")/../tests/testbed/run" -- "$@"
}

# make_work: a temporary folder in $work (kept with KEEP=1, else removed at exit), with
# its own XDG_CONFIG_HOME so no cactool config file of the user's is read.
make_work() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/cactool-bench.XXXXXX")
    if [[ ${KEEP:-0} == 1 ]]; then
        echo "keeping $work"
    else
        trap 'rm -rf "$work"' EXIT
    fi
    mkdir -p "$work/config"
    export XDG_CONFIG_HOME=$work/config
    unset PKCS11_LIB_PATH CAC_DEBUG
}

die() {
    echo "$script: $*" >&2
    exit 1
}

require() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "$tool is needed (see bench/README.md)"
    done
    [[ -x /usr/bin/time ]] || die "/usr/bin/time is needed (Debian: apt-get install time)"
}

# One run: wall and CPU (user + system) seconds from bash's `time`, peak RSS in KiB from
# GNU time, appended to the tool's files. The output stays in $work/out for checks.
measure() {
    local tool=$1 wall user system
    local -n command=command_${tool//-/_}
    local TIMEFORMAT='%3R %3U %3S'
    if ! { time /usr/bin/time -f %M -o "$work/rss" "${command[@]}" >"$work/out" \
        2>"$work/err"; } 2>"$work/time"; then
        cat "$work/err" >&2
        die "$tool failed: ${command[*]}"
    fi
    read -r wall user system <"$work/time"
    echo "$wall" >>"$work/$tool.wall"
    awk -v u="$user" -v s="$system" 'BEGIN { print u + s }' >>"$work/$tool.cpu"
    tail -n 1 "$work/rss" >>"$work/$tool.rss"
}

# measure_all RUNS CHECK TOOL...: one unmeasured warm-up run of each tool (page cache and
# dynamic loader), checked by the function named CHECK (given the tool's name, it reads
# $work/out and fails the run with die), then RUNS rounds of every tool in turn, so that
# a change in machine load hits every tool alike.
measure_all() {
    local runs=$1 check=$2 tool run
    shift 2
    for tool in "$@"; do
        measure "$tool"
        "$check" "$tool"
        rm -f "$work/$tool.wall" "$work/$tool.cpu" "$work/$tool.rss"
    done
    echo "measuring: $runs runs each, interleaved"
    for ((run = 1; run <= runs; run++)); do
        for tool in "$@"; do
            measure "$tool"
        done
    done
}

median() {
    sort -n "$1" | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

declare -A wall_ms cpu_ms rss_kib

# report TITLE TOOL...: the table of medians, then the ratios of every tool to each one
# listed after it (with cactool, pkcs11-tool, floor: cactool/pkcs11-tool, cactool/floor,
# pkcs11-tool/floor).
report() {
    local title=$1 tool pair i j
    shift
    local -a ratios=()
    for ((i = 1; i <= $#; i++)); do
        for ((j = i + 1; j <= $#; j++)); do
            ratios+=("${!i}/${!j}")
        done
    done
    for tool in "$@"; do
        wall_ms[$tool]=$(median "$work/$tool.wall" | awk '{ printf "%.1f", $1 * 1000 }')
        cpu_ms[$tool]=$(median "$work/$tool.cpu" | awk '{ printf "%.1f", $1 * 1000 }')
        rss_kib[$tool]=$(median "$work/$tool.rss" | awk '{ printf "%d", $1 }')
    done
    echo
    echo "$title"
    printf '%-12s %10s %10s %14s\n' tool "wall ms" "CPU ms" "peak RSS KiB"
    for tool in "$@"; do
        printf '%-12s %10s %10s %14s\n' "$tool" "${wall_ms[$tool]}" "${cpu_ms[$tool]}" \
            "${rss_kib[$tool]}"
    done
    echo
    # The ratio column is as wide as its longest name (cactool-json/opensc-tool, say).
    local width=20
    for pair in "${ratios[@]}"; do
        ((${#pair} <= width)) || width=${#pair}
    done
    printf '%-*s %8s %8s %8s\n' "$width" ratio wall CPU RSS
    for pair in "${ratios[@]}"; do
        local a=${pair%/*} b=${pair#*/}
        printf '%-*s %8s %8s %8s\n' "$width" "$pair" \
            "$(ratio "${wall_ms[$a]}" "${wall_ms[$b]}")" \
            "$(ratio "${cpu_ms[$a]}" "${cpu_ms[$b]}")" \
            "$(ratio "${rss_kib[$a]}" "${rss_kib[$b]}")"
    done
}

# build_floor OUTPUT: compiles floor_certs.cpp (not part of the Meson build).
build_floor() {
    echo "building floor_certs"
    # shellcheck disable=SC2046 # pkg-config prints several words on purpose
    g++ -std=c++20 -O2 -o "$1" "$(dirname "${BASH_SOURCE[0]}")/floor_certs.cpp" \
        $(pkg-config --cflags p11-kit-1) $(pkg-config --cflags --libs openssl) -ldl
}
