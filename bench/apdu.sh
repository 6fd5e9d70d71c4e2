#!/usr/bin/env bash
# Throughput of APDUs through pcscd and the simulated PIV card, side by side.
#
#   bench/apdu.sh [CACTOOL]
#
# Re-runs itself inside tests/testbed/run (like piv-certs.sh), writes a scriptor script of
# COUNT identical SELECTs of the PIV application, and runs, interleaved, RUNS times each:
#   cactool      CACTOOL --no-journal --reader READER apdu --script FILE
#   scriptor     scriptor -r READER FILE                      (pcsc-tools)
#   opensc-tool  opensc-tool --reader 0 -s APDU -s APDU ...   (COUNT times)
#   floor        bench/floor_apdu.cpp: SCardTransmit COUNT times in one transaction
# and prints medians and ratios. The card answers at once, so this is the cost of each
# tool's own work plus the trip through pcscd and vpcd.
#
# Environment: CACTOOL, RUNS (5), COUNT (10000), KEEP=1.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
script=apdu.sh
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
cactool=$(absolute_tool "${1:-${CACTOOL:-}}")
run_on_testbed "$0" "$cactool"

runs=${RUNS:-5}
count=${COUNT:-10000}

require scriptor opensc-tool g++ pkg-config
[[ -z $cactool || -x $cactool ]] || die "$cactool is not an executable"

make_work

echo "building floor_apdu"
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
g++ -std=c++20 -O2 -o "$work/floor_apdu" "$here/floor_apdu.cpp" \
    $(pkg-config --cflags --libs libpcsclite)

select_piv="00 A4 04 00 09 A0 00 00 03 08 00 00 10 00"
reader=$CACTOOL_TESTBED_READER
for ((i = 0; i < count; i++)); do
    echo "$select_piv"
done >"$work/script"
opensc_args=()
for ((i = 0; i < count; i++)); do
    opensc_args+=(-s "${select_piv// /}")
done

tools=()
if [[ -n $cactool ]]; then
    tools+=(cactool)
    # shellcheck disable=SC2034
    command_cactool=("$cactool" --no-journal --reader "$reader" apdu --script "$work/script")
fi
tools+=(scriptor opensc-tool floor)
# shellcheck disable=SC2034
command_scriptor=(scriptor -r "$reader" "$work/script")
# shellcheck disable=SC2034
command_opensc_tool=(opensc-tool --reader 0 "${opensc_args[@]}")
# shellcheck disable=SC2034
command_floor=("$work/floor_apdu" "$reader" "$count" "${select_piv// /}")

# Every tool must have seen the card answer 9000 to the last command.
check_answer() {
    grep -qiE '90 ?00|SW1=0x90, SW2=0x00' "$work/out" || die "$1 shows no 9000 answer"
}

measure_all "$runs" check_answer "${tools[@]}"
report "$count APDUs through pcscd to the simulated PIV card, medians of $runs runs" \
    "${tools[@]}"
