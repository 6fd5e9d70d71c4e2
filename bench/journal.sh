#!/usr/bin/env bash
# Cost of appending one record to the error journal.
#
#   bench/journal.sh [JOURNAL_APPEND]
#
# JOURNAL_APPEND is the test program Meson builds next to the tests
# (build-*/tests/integration/journal-append): it appends records through cactool's own
# JournalWriter and times each append. Runs ROUNDS rounds, interleaved, of COUNT appends
# each of:
#   kept      one writer for all records (the file stays open, as within one cactool run)
#   fresh     a new writer for each record (opened each time, as one record per run)
#   floor     bench/floor_journal.cpp: open(O_APPEND) + flock + one write + close
#   8-writers 8 processes appending COUNT/8 records each at once, one writer each
# and prints the median, 90th and 99th percentile of one append in microseconds, and the
# ratios to the floor. The target is a median under 1 ms per record.
#
# Environment: JOURNAL_APPEND, COUNT (10000), ROUNDS (3), KEEP=1 keeps the temporary
# folder. See bench/README.md.
set -euo pipefail
export LC_ALL=C

count=${COUNT:-10000}
rounds=${ROUNDS:-3}
append=${1:-${JOURNAL_APPEND:-}}
here=$(cd "$(dirname "$0")" && pwd)

script=journal.sh
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

command -v g++ >/dev/null || die "g++ is needed to build the floor (see bench/README.md)"
[[ -n $append && -x $append ]] ||
    die "give the journal-append program: bench/journal.sh build-DIR/tests/integration/journal-append"
append=$(absolute_tool "$append")
((count >= 8 && rounds >= 1)) || die "COUNT must be at least 8 and ROUNDS at least 1"

make_work
echo "building floor_journal"
g++ -std=c++20 -O2 -o "$work/floor_journal" "$here/floor_journal.cpp"
"$append" --line >"$work/line"
# The cap cactool uses when the config sets none (default_journal_max_bytes).
cap=$((10 * 1024 * 1024))

run_kept() { "$append" "$work/kept.jsonl" bench "$count" --max-bytes "$cap" --times; }
run_fresh() { "$append" "$work/fresh.jsonl" bench "$count" --max-bytes "$cap" --fresh --times; }
run_floor() { "$work/floor_journal" "$work/floor.jsonl" "$work/line" "$count"; }
run_8_writers() {
    local i
    for ((i = 0; i < 8; i++)); do
        "$append" "$work/shared.jsonl" "writer-$i" $((count / 8)) --max-bytes "$cap" \
            --times >"$work/shared.$i" &
    done
    wait
    cat "$work"/shared.[0-7]
}

tools=(kept fresh floor 8-writers)
echo "appending: $rounds rounds of $count records each, interleaved, on $(stat -f -c %T "$work")"
for ((round = 1; round <= rounds; round++)); do
    for tool in "${tools[@]}"; do
        rm -f "$work"/*.jsonl "$work"/*.jsonl.1
        "run_${tool//-/_}" >>"$work/$tool.ns"
        expected=$count
        [[ $tool != 8-writers ]] || expected=$((count / 8 * 8))
        lines=$(cat "$work"/*.jsonl | wc -l)
        ((lines == expected)) || die "$tool wrote $lines lines, not $expected"
    done
done

# percentile FILE P: the P-th percentile (nearest rank) of the numbers in FILE, in µs.
percentile() {
    sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END {
        i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; printf "%.1f", v[i] / 1000 }'
}

declare -A p50
echo
echo "one append, microseconds"
printf '%-10s %10s %10s %10s\n' writer median p90 p99
for tool in "${tools[@]}"; do
    p50[$tool]=$(percentile "$work/$tool.ns" 50)
    printf '%-10s %10s %10s %10s\n' "$tool" "${p50[$tool]}" \
        "$(percentile "$work/$tool.ns" 90)" "$(percentile "$work/$tool.ns" 99)"
done
echo
printf '%-18s %8s\n' ratio median
for tool in kept fresh 8-writers; do
    printf '%-18s %8s\n' "$tool/floor" "$(ratio "${p50[$tool]}" "${p50[floor]}")"
done
echo
for tool in kept fresh 8-writers; do
    verdict=$(awk -v m="${p50[$tool]}" 'BEGIN { print (m < 1000 ? "under" : "OVER") }')
    echo "$tool: median ${p50[$tool]} µs per record, $verdict the 1 ms target"
done
