#!/usr/bin/env bash
# What `cactool diag` costs on the simulated PIV card next to the peer tools an operator
# runs for the same look, and how many APDUs cactool's direct certificate reads send next
# to what OpenSC needs to expose the same certificates.
#
#   bench/diag.sh [CACTOOL]
#
# Re-runs itself inside tests/testbed/run (the bed's default card: four certificates),
# then:
# 1. runs, interleaved, RUNS times each:
#      cactool     CACTOOL --module OPENSC diag   (journal in an empty private folder)
#      peer-chain  opensc-tool --list-readers, then pkcs11-tool --module OPENSC
#                  --list-slots, then pkcs11-tool --module OPENSC --list-objects, one
#                  after another in one `sh -c`
#      floor       bench/floor_diag.cpp: the same facts with the least work
#    and prints medians and ratios (target: cactool <= 1.5x peer-chain);
# 2. the median time of each diag check, from `--json`'s duration_ms;
# 3. the APDUs the card answered (cardctl log) for diag (and how many of them cactool sent
#    itself, from --trace), for `cactool certs --pcsc`, and for OpenSC exposing the four
#    certificates: `pkcs11-tool --list-objects --type cert`, then a `--read-object` of
#    each (target: certs --pcsc <= OpenSC).
#
# Environment: CACTOOL, RUNS (15), OPENSC_MODULE (found if unset), KEEP=1.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
script=diag.sh
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
cactool=$(absolute_tool "${1:-${CACTOOL:-}}")
run_on_testbed "$0" "$cactool"

runs=${RUNS:-15}

require opensc-tool pkcs11-tool openssl g++ pkg-config
[[ -n $cactool ]] || die "usage: diag.sh CACTOOL (or CACTOOL=...)"
[[ -x $cactool ]] || die "$cactool is not an executable"
[[ -x /usr/bin/python3 ]] || die "/usr/bin/python3 is needed"

module=${OPENSC_MODULE:-$(pkg-config --variable=p11_module_path p11-kit-1)/opensc-pkcs11.so}
[[ -f $module ]] || die "OpenSC's module is not at $module; set OPENSC_MODULE"

make_work
# diag's journal check reads the journal of the last day: an empty private one, so the
# user's own journal neither slows it nor makes it warn.
export XDG_STATE_HOME=$work/state
mkdir -p "$XDG_STATE_HOME"

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "building floor_diag"
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
g++ -std=c++20 -O2 -o "$work/floor_diag" "$here/floor_diag.cpp" \
    $(pkg-config --cflags p11-kit-1) $(pkg-config --cflags --libs openssl libpcsclite) -ldl

# The card's fingerprints, computed here from its PEM files rather than taken from
# card.json or from any tool measured.
declare -A card_sha256
for slot in 9a 9c 9d 9e; do
    card_sha256[$slot]=$(openssl x509 -in "$CACTOOL_TESTBED_CARD/$slot.pem" -outform DER |
        sha256sum | cut -d' ' -f1)
done
cert_count=${#card_sha256[@]}

tools=(cactool peer-chain floor)
# shellcheck disable=SC2034
command_cactool=("$cactool" --module "$module" diag)
# shellcheck disable=SC2016,SC2034 # $0 is the module, expanded by sh
command_peer_chain=(sh -c 'opensc-tool --list-readers &&
    pkcs11-tool --module "$0" --list-slots && pkcs11-tool --module "$0" --list-objects' "$module")
# shellcheck disable=SC2034
command_floor=("$work/floor_diag" "$module")

# Each tool must have seen the card in its reader, its token and all its certificates.
check_facts() {
    local out=$work/out seen
    grep -q "$CACTOOL_TESTBED_READER" "$out" || die "$1 did not list the card's reader"
    case $1 in
    cactool)
        grep -q '^pass  token ' "$out" || die "cactool diag saw no token"
        seen=$(grep -c '^pass  certificate_views ' "$out" || true)
        grep -q ' 0 failed,' "$out" || die "cactool diag failed a check on a healthy card"
        ;;
    peer-chain)
        grep -q 'token label' "$out" || die "pkcs11-tool --list-slots showed no token"
        seen=$(grep -c '^Certificate Object' "$out" || true)
        ;;
    floor)
        grep -q '^token ' "$out" || die "floor_diag saw no token"
        seen=$(grep -c '^cert .* valid ' "$out" || true)
        ;;
    esac
    ((seen == cert_count)) || die "$1 showed $seen certificates, expected $cert_count"
}

measure_all "$runs" check_facts "${tools[@]}"
report "diag on the simulated PIV card via OpenSC ($(basename "$module")), medians of $runs runs" \
    "${tools[@]}"
echo
echo "target: cactool/peer-chain wall <= 1.5: $(ratio "${wall_ms[cactool]}" \
    "${wall_ms[peer-chain]}")"

# diag's checks one by one. duration_ms counts from the start of the check that gave the
# result, so a check's time is the largest of its results'; checks reporting under other
# ids (card_access, card_token, the certificate checks) belong to the check before them.
echo
echo "diag, time of each check: median ms of $runs runs (--json duration_ms)"
for ((run = 1; run <= runs; run++)); do
    "$cactool" --json --module "$module" diag >"$work/diag-$run.json"
done
/usr/bin/python3 - "$work" "$runs" <<'EOF'
import json, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
step_of = {"card_access": "card", "card_token": "token", "certificate_validity": "certificates",
           "private_key": "certificates", "certificate_chain": "certificates",
           "certificate_usage": "certificates"}
times, order = {}, []
for run in range(1, runs + 1):
    with open(f"{work}/diag-{run}.json") as f:
        checks = json.load(f)["checks"]
    longest = {}
    for check in checks:
        step = step_of.get(check["id"], check["id"])
        if step not in order:
            order.append(step)
        longest[step] = max(longest.get(step, 0), check["duration_ms"])
    for step, ms in longest.items():
        times.setdefault(step, []).append(ms)
for step in order:
    print(f"{step:<20} {statistics.median(times[step]):8.1f}")
EOF

# APDUs the card answered while COMMAND ran.
apdus() {
    "$CACTOOL_CARDCTL" log --clear >/dev/null
    "$@" >"$work/out" 2>"$work/err" || {
        cat "$work/err" >&2
        die "failed: $*"
    }
    "$CACTOOL_CARDCTL" log | grep -c '"event":"apdu"' || true
}

# Each certificate the way a tool wrote it must be the card's.
check_sha256() {
    local what=$1 file=$2 slot=$3 sha256
    sha256=$(sha256sum "$file" | cut -d' ' -f1)
    [[ $sha256 == "${card_sha256[$slot]}" ]] || die "$what read a wrong certificate for $slot"
}

echo
echo "APDUs answered by the card"
diag_total=$(apdus "$cactool" --trace --module "$module" diag)
diag_own=$(grep -c 'SCardTransmit(' "$work/err" || true)
printf '%-44s %6d\n' "cactool diag" "$diag_total" \
    "  sent by OpenSC's module" "$((diag_total - diag_own))" \
    "  sent by cactool (certificate_views)" "$diag_own"

pcsc_certs=$(apdus "$cactool" --no-journal --json certs --pcsc)
for slot in "${!card_sha256[@]}"; do
    grep -qi "${card_sha256[$slot]}" "$work/out" || die "certs --pcsc did not list $slot"
done
printf '%-44s %6d\n' "cactool certs --pcsc (4 certificates)" "$pcsc_certs"

opensc_list=$(apdus pkcs11-tool --module "$module" --list-objects --type cert)
listed=$(grep -c '^Certificate Object' "$work/out" || true)
((listed == cert_count)) || die "pkcs11-tool listed $listed certificates, expected $cert_count"
opensc_total=$opensc_list
printf '%-44s %6d\n' "pkcs11-tool --list-objects --type cert" "$opensc_list"
# OpenSC's IDs for the PIV slots 9A, 9C, 9D, 9E.
declare -A opensc_id=([9a]=01 [9c]=02 [9d]=03 [9e]=04)
for slot in 9a 9c 9d 9e; do
    read_one=$(apdus pkcs11-tool --module "$module" --read-object --type cert \
        --id "${opensc_id[$slot]}" --output-file "$work/$slot.der")
    check_sha256 "pkcs11-tool --read-object" "$work/$slot.der" "$slot"
    opensc_total=$((opensc_total + read_one))
    printf '%-44s %6d\n' "pkcs11-tool --read-object --id ${opensc_id[$slot]} ($slot)" "$read_one"
done
printf '%-44s %6d\n' "OpenSC, listing and 4 reads" "$opensc_total"
echo
echo "target: certs --pcsc APDUs <= OpenSC's listing alone: $pcsc_certs <= $opensc_list"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
