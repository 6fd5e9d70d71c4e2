#!/usr/bin/env bash
# Cost of `cactool errors-report` over large journals, and whether its memory grows
# with the number of records.
#
#   bench/errors-report.sh [CACTOOL]
#
# Writes journals of each size in SIZES (bench/make_journal.py: lines in the journal's
# own format, a deterministic mix of codes, operations, readers and modules), then runs,
# interleaved, RUNS times each per size:
#   cactool  CACTOOL --journal JOURNAL errors-report --json
#   floor    bench/floor_errors_report.cpp: read the lines, count them per "code" value
#   jq       jq -n 'reduce inputs as $r ({}; .[$r.code] += 1)' JOURNAL  (when installed)
# and prints the median wall time, CPU time and peak RSS of each, and the ratios. The
# target is under 5 s for 1,000,000 records, with a peak RSS that stays the same from
# 100,000 records to 1,000,000 (the journal is streamed, not loaded).
#
# Environment: CACTOOL, RUNS (3), SIZES ("100000 1000000"), KEEP=1 keeps the temporary
# folder (the journals take about 520 bytes a record). See bench/README.md.
set -euo pipefail
export LC_ALL=C

runs=${RUNS:-3}
sizes=${SIZES:-100000 1000000}
cactool=${1:-${CACTOOL:-}}
here=$(cd "$(dirname "$0")" && pwd)

script=errors-report.sh
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

require g++ /usr/bin/python3
[[ -n $cactool && -x $cactool ]] ||
    die "give the cactool binary: bench/errors-report.sh build-DIR/src/cli/cactool"
cactool=$(absolute_tool "$cactool")

make_work
echo "building floor_errors_report"
g++ -std=c++20 -O2 -o "$work/floor_errors_report" "$here/floor_errors_report.cpp"

tools=(cactool floor)
command -v jq >/dev/null && tools+=(jq) || echo "jq not installed: measuring without it"

# check TOOL: every tool must have seen all $records records of the journal.
check() {
    local seen
    case $1 in
        cactool) seen=$(/usr/bin/python3 -c \
            'import json, sys; print(json.load(sys.stdin)["totals"]["records"])' <"$work/out") ;;
        floor) seen=$(head -n 1 "$work/out") ;;
        jq) seen=$(jq '[.[]] | add' "$work/out") ;;
    esac
    [[ $seen == "$records" ]] || die "$1 saw $seen records, not $records"
}

for records in $sizes; do
    journal=$work/journal-$records.jsonl
    echo "writing a journal of $records records"
    /usr/bin/python3 "$here/make_journal.py" "$journal" "$records"
    # Each tool's command line, in an array named command_<tool> that measure reads by
    # name (hence the shellcheck directives); jq's program is single-quoted on purpose.
    # shellcheck disable=SC2034
    command_cactool=("$cactool" --journal "$journal" errors-report --json)
    # shellcheck disable=SC2034
    command_floor=("$work/floor_errors_report" "$journal")
    # shellcheck disable=SC2034,SC2016
    command_jq=(jq -n 'reduce inputs as $r ({}; .[$r.code] += 1)' "$journal")
    measure_all "$runs" check "${tools[@]}"
    report "errors-report over $records records ($(du -m "$journal" | cut -f1) MB)" "${tools[@]}"
    rm -f "$journal" "$work"/*.wall "$work"/*.cpu "$work"/*.rss
done
