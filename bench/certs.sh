#!/usr/bin/env bash
# Side-by-side cost of listing the certificates on a token.
#
#   bench/certs.sh [CACTOOL]
#
# Builds a SoftHSM2 token in a temporary directory holding CERTS certificates (one
# EC key, distinct subjects, serials and validity), then runs, interleaved, RUNS times
# each:
#   cactool      CACTOOL --module SOFTHSM --token bench certs --json
#   pkcs11-tool  pkcs11-tool --module SOFTHSM --token-label bench --list-objects --type cert
#   floor        bench/floor_certs.cpp: find, read and parse each certificate once
# and prints the median wall time and peak RSS of each, and cactool's ratios to the
# other two. Without a cactool binary (argument or $CACTOOL) the other two still run.
#
# Environment: CACTOOL, RUNS (15), CERTS (300), SOFTHSM2_MODULE (found if unset),
# KEEP=1 keeps the temporary directory. See bench/README.md.
set -euo pipefail
export LC_ALL=C

runs=${RUNS:-15}
cert_count=${CERTS:-300}
cactool=${1:-${CACTOOL:-}}
here=$(cd "$(dirname "$0")" && pwd)

script=certs.sh
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

find_softhsm() {
    local candidate
    for candidate in "${SOFTHSM2_MODULE:-}" /usr/lib/softhsm/libsofthsm2.so \
        /usr/lib/*-linux-gnu/softhsm/libsofthsm2.so /usr/lib64/softhsm/libsofthsm2.so \
        /usr/local/lib/softhsm/libsofthsm2.so; do
        if [[ -n $candidate && -f $candidate ]]; then
            echo "$candidate"
            return
        fi
    done
    die "SoftHSM2 module not found; set SOFTHSM2_MODULE (Debian: apt-get install softhsm2)"
}

require softhsm2-util pkcs11-tool openssl g++ pkg-config
[[ -z $cactool || -x $cactool ]] || die "$cactool is not an executable"
cactool=$(absolute_tool "$cactool")
module=$(find_softhsm)

make_work
# A private token directory (make_work keeps config files out).
mkdir -p "$work/tokens" "$work/certs"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$work/tokens" >"$work/softhsm2.conf"
export SOFTHSM2_CONF=$work/softhsm2.conf

# The token and its PINs exist only for this run, so a PIN on pkcs11-tool's command
# line exposes nothing.
user_pin=123456
softhsm2-util --init-token --free --label bench --pin "$user_pin" --so-pin 12345678 >/dev/null

build_floor "$work/floor_certs"

echo "creating $cert_count certificates on a SoftHSM2 token"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/key.pem" 2>/dev/null
for ((i = 1; i <= cert_count; i++)); do
    der=$work/certs/$i.der
    openssl req -new -x509 -key "$work/key.pem" -sha256 -outform DER -out "$der" \
        -subj "/C=US/O=cactool bench/OU=certs/CN=Bench User $i" \
        -set_serial $((0x10000 + i)) -days $((30 + i))
    pkcs11-tool --module "$module" --token-label bench --login --pin "$user_pin" \
        --write-object "$der" --type cert --id "$(printf '%04x' "$i")" \
        --label "bench cert $i" >/dev/null 2>&1 || die "import of certificate $i failed"
done

# Each tool's command line, in an array named command_<tool> that measure reads by
# name (hence the shellcheck directives).
tools=()
if [[ -n $cactool ]]; then
    tools+=(cactool)
    # shellcheck disable=SC2034
    command_cactool=("$cactool" --no-journal --module "$module" --token bench certs --json)
fi
tools+=(pkcs11-tool floor)
# shellcheck disable=SC2034
command_pkcs11_tool=(pkcs11-tool --module "$module" --token-label bench --list-objects --type cert)
# shellcheck disable=SC2034
command_floor=("$work/floor_certs" "$module" bench)

# How many certificates a tool's output shows, to be sure each one did the whole job.
count_listed() {
    case $1 in
    cactool) grep -o '"sha256"' "$2" | wc -l ;;
    pkcs11-tool) grep -c '^Certificate Object' "$2" || true ;;
    floor) wc -l <"$2" ;;
    esac
}

check_count() {
    local listed
    listed=$(count_listed "$1" "$work/out")
    ((listed == cert_count)) || die "$1 listed $listed certificates, expected $cert_count"
}

measure_all "$runs" check_count "${tools[@]}"

report "$cert_count certificates on a SoftHSM2 token ($module), medians of $runs runs" \
    "${tools[@]}"
[[ -n $cactool ]] || echo "(no cactool binary given: pass its path or set CACTOOL)"
