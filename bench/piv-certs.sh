#!/usr/bin/env bash
# Side-by-side cost of listing the certificates on the simulated PIV card, through the
# whole real stack: a private pcscd, vpcd, the test bed's virtual card and OpenSC's
# PKCS#11 module.
#
#   bench/piv-certs.sh [CACTOOL]
#
# Re-runs itself inside tests/testbed/run (needs root or user namespaces, and the test
# bed's cardsim and cardctl built: CACTOOL_CARDSIM / CACTOOL_CARDCTL, or a build*/
# folder of this checkout), then runs, interleaved, RUNS times each:
#   cactool      CACTOOL --no-journal --module OPENSC certs --json
#   pkcs11-tool  pkcs11-tool --module OPENSC --list-objects --type cert
#   floor        bench/floor_certs.cpp: find, read and parse each certificate once
# and prints medians and ratios as bench/certs.sh does. Here the card and the middleware
# dominate: every tool pays OpenSC's card detection and the APDUs that read the
# certificate containers.
#
# Environment: CACTOOL, RUNS (15), OPENSC_MODULE (found if unset), KEEP=1.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
script=piv-certs.sh
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
cactool=$(absolute_tool "${1:-${CACTOOL:-}}")
run_on_testbed "$0" "$cactool"

runs=${RUNS:-15}

require pkcs11-tool g++ pkg-config
[[ -z $cactool || -x $cactool ]] || die "$cactool is not an executable"

module=${OPENSC_MODULE:-$(pkg-config --variable=p11_module_path p11-kit-1)/opensc-pkcs11.so}
[[ -f $module ]] || die "OpenSC's module is not at $module; set OPENSC_MODULE"

make_work

build_floor "$work/floor_certs"
cert_count=$(grep -c '"certificate"' "$CACTOOL_TESTBED_CARD/card.json")

tools=()
if [[ -n $cactool ]]; then
    tools+=(cactool)
    # shellcheck disable=SC2034
    command_cactool=("$cactool" --no-journal --module "$module" certs --json)
fi
tools+=(pkcs11-tool floor)
# shellcheck disable=SC2034
command_pkcs11_tool=(pkcs11-tool --module "$module" --list-objects --type cert)
# shellcheck disable=SC2034
command_floor=("$work/floor_certs" "$module")

check_count() {
    local listed
    case $1 in
    cactool) listed=$(grep -o '"sha256"' "$work/out" | wc -l) ;;
    pkcs11-tool) listed=$(grep -c '^Certificate Object' "$work/out" || true) ;;
    floor) listed=$(wc -l <"$work/out") ;;
    esac
    ((listed == cert_count)) || die "$1 listed $listed certificates, expected $cert_count"
}

measure_all "$runs" check_count "${tools[@]}"

report "$cert_count certificates on the simulated PIV card via OpenSC ($module), medians of $runs runs" \
    "${tools[@]}"
