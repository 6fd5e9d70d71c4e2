#!/usr/bin/env bash
# Listing 8 PC/SC readers, side by side.
#
#   bench/readers.sh [CACTOOL]
#
# Re-runs itself inside tests/testbed/run (like apdu.sh), adds vpcd reader entries with
# `cardctl reader add` until pcscd lists 8 readers (each entry gives two; the card sits in
# the first), and runs, interleaved, RUNS times each:
#   cactool       CACTOOL --no-journal readers
#   cactool-json  CACTOOL --no-journal readers --json
#   opensc-tool   opensc-tool --list-readers                  (OpenSC)
#   pcsc_scan     pcsc_scan -r                                (pcsc-tools)
#   floor         bench/floor_readers.cpp: list, one SCardGetStatusChange, print
# and prints medians and ratios.
#
# Environment: CACTOOL, RUNS (15), KEEP=1.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
script=readers.sh
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
cactool=$(absolute_tool "${1:-${CACTOOL:-}}")
run_on_testbed "$0" "$cactool"

runs=${RUNS:-15}
wanted=8

require opensc-tool pcsc_scan g++ pkg-config
[[ -z $cactool || -x $cactool ]] || die "$cactool is not an executable"

make_work

echo "building floor_readers"
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
g++ -std=c++20 -O2 -o "$work/floor_readers" "$here/floor_readers.cpp" \
    $(pkg-config --cflags --libs libpcsclite)

# Each `reader add` restarts the bed's pcscd with one vpcd entry (two readers) more.
for ((entry = 1; entry < wanted / 2; entry++)); do
    (($("$work/floor_readers" | wc -l) < wanted)) || break
    echo "adding a reader entry"
    "$CACTOOL_CARDCTL" reader add >/dev/null
done
listed=$("$work/floor_readers" | wc -l)
((listed == wanted)) || die "pcscd lists $listed readers, not $wanted"

tools=()
if [[ -n $cactool ]]; then
    tools+=(cactool cactool-json)
    # shellcheck disable=SC2034
    command_cactool=("$cactool" --no-journal readers)
    # shellcheck disable=SC2034
    command_cactool_json=("$cactool" --no-journal readers --json)
fi
tools+=(opensc-tool pcsc_scan floor)
# shellcheck disable=SC2034
command_opensc_tool=(opensc-tool --list-readers)
# shellcheck disable=SC2034
command_pcsc_scan=(pcsc_scan -r)
# shellcheck disable=SC2034
command_floor=("$work/floor_readers")

# Every tool must have listed all the readers, each once.
check_readers() {
    local seen
    seen=$(grep -c 'Virtual PCD' "$work/out" || true)
    ((seen == wanted)) || die "$1 lists $seen readers, not $wanted"
}

measure_all "$runs" check_readers "${tools[@]}"
report "$wanted readers (one card) through pcscd, medians of $runs runs" "${tools[@]}"
