#!/usr/bin/env bash
# What watching for cards costs while nothing happens, and how soon an insertion shows.
#
#   bench/watch.sh [CACTOOL]
#
# Re-runs itself inside tests/testbed/run (like apdu.sh) and runs watch_bench.py on, in
# turn, RUNS rounds of:
#   cactool    CACTOOL --no-journal watch --json
#   pcsc_scan  pcsc_scan -n                                  (pcsc-tools; no ATR analysis)
#   floor      bench/floor_watch.cpp: SCardGetStatusChange with the PnP entry, a line a change
# Each run: IDLE seconds idle (CPU time over the window), then INSERTIONS card removals and
# insertions through cardsim's control socket (latency from the moment pcscd's driver took
# the card to the tool's line). Prints medians and ratios.
#
# Environment: CACTOOL, RUNS (3), IDLE (10), INSERTIONS (10), KEEP=1.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
script=watch.sh
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
cactool=$(absolute_tool "${1:-${CACTOOL:-}}")
run_on_testbed "$0" "$cactool"

require pcsc_scan g++ pkg-config /usr/bin/python3
[[ -z $cactool || -x $cactool ]] || die "$cactool is not an executable"

make_work

echo "building floor_watch"
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
g++ -std=c++20 -O2 -o "$work/floor_watch" "$here/floor_watch.cpp" \
    $(pkg-config --cflags --libs libpcsclite)

# Each command as a JSON array of words, for the Python driver.
json_words() {
    /usr/bin/python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@"
}

tools=()
if [[ -n $cactool ]]; then
    tools+=("cactool=$(json_words "$cactool" --no-journal watch --json)")
fi
tools+=("pcsc_scan=$(json_words pcsc_scan -n)")
tools+=("floor=$(json_words "$work/floor_watch")")

/usr/bin/python3 "$here/watch_bench.py" "${RUNS:-3}" "${IDLE:-10}" "${INSERTIONS:-10}" \
    "${tools[@]}"
