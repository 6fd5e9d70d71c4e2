#!/usr/bin/env bash
# Checks the bash, zsh and fish completions of cactool against fixed expectations.
#
#   check-completions.sh COMPLETIONS_DIR [CACTOOL]
#
# Each case is a command line and the exact set of matches every shell must offer.
# A stand-in `p11-kit` on PATH prints a fixed module listing, so module and token
# names do not depend on the machine. zsh and fish are checked when installed;
# bash always. Given the cactool binary, the options its --help lists must also be
# exactly the options the bash completion offers, so the two cannot drift apart.
set -u

completions=$(cd "${1:?usage: check-completions.sh COMPLETIONS_DIR [CACTOOL]}" && pwd)
cactool=${2:-}
if [[ -n $cactool ]]; then
  cactool=$(cd "$(dirname "$cactool")" && pwd)/$(basename "$cactool")
fi
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/bin" "$work/cwd/dirA"
touch "$work/cwd/fileB"
cat >"$work/bin/p11-kit" <<'EOF'
#!/bin/sh
# The shape of `p11-kit list-modules` output: unindented "name: path" lines.
[ "$1" = list-modules ] || exit 1
cat <<'LIST'
alpha-module: alpha.so
    library-description: A test module
    token: Test Token
        manufacturer: nobody
softhsm2: /usr/lib/softhsm/libsofthsm2.so
    library-version: 2.6
    token: 
LIST
EOF
chmod +x "$work/bin/p11-kit"
export PATH="$work/bin:$PATH"
export CACTOOL_TEST_PIN=unused
cd "$work/cwd" || exit 1

globals="--color --config --help --journal --json --module --no-journal --quiet --reader
  --slot --timeout --token --trace --verbose --version"

# "command line|expected matches"
cases=(
  "cactool |apdu certs diag errors-report login readers slots watch"
  "cactool s|slots"
  "cactool a|apdu"
  "cactool e|errors-report"
  "cactool errors-report --|$globals --category --code --include-context --include-rotated --output
    --pattern-count --pattern-window --rotate --since --until"
  "cactool-errors-report --pattern-|--pattern-count --pattern-window"
  "cactool errors-report --category |authentication card_state communication configuration internal
    middleware token usage"
  "cactool errors-report --category c|card_state communication configuration"
  "cactool errors-report --output |dirA fileB"
  "cactool errors-report --since 24h --r|--reader --rotate"
  "cactool apdu --|$globals --chain --expect --no-get-response --script --tlv"
  "cactool-apdu --t|--timeout --tlv --token --trace"
  "cactool diag --|$globals --ca-dir --ca-file --force --pin-env --pin-file --pin-stdin --sign-test --strict"
  "cactool-diag --s|--sign-test --slot --strict"
  "cactool r|readers"
  "cactool readers --|$globals --probe"
  "cactool-readers --p|--probe"
  "cactool w|watch"
  "cactool watch --|$globals --exec --once --wait-card"
  "cactool --c|--color --config"
  "cactool --json |apdu certs diag errors-report login readers slots watch"
  "cactool --module x |apdu certs diag errors-report login readers slots watch"
  "cactool certs --pin-|--pin-env --pin-file --pin-stdin"
  "cactool login --|$globals --check --force --pcsc --pin-env --pin-file --pin-stdin --so"
  "cactool-slots --|$globals --all-modules --mechanisms"
  "cactool certs --|$globals --at --ca-dir --ca-file --export --force --format --login --overwrite --pcsc
    --pin-env --pin-file --pin-stdin --validate"
  "cactool --color |always auto never"
  "cactool --color=|always auto never"
  "cactool certs --format |der pem"
  "cactool --module |alpha-module dirA fileB softhsm2"
  "cactool --module so|softhsm2"
  "cactool --token |Test Token"
  "cactool certs --export |- dirA"
  "cactool certs --ca-dir |dirA"
  "cactool certs --ca-file |dirA fileB"
  "cactool --json --slot 3 slots --m|--mechanisms --module"
  "cactool login --pin-env CACTOOL_TEST_|CACTOOL_TEST_PIN"
)

# Sorted, one a line; "Test Token" stays one match.
normalize() {
  sed -e 's/\\ / /g' -e 's:/$::' -e 's/^--[a-z-]*=//' | grep -v '^$' | LC_ALL=C sort -u
}

expected_set() {
  local words=$1
  # Token labels hold spaces; every other expectation is a list of words.
  if [[ $words == "Test Token" ]]; then
    echo "Test Token"
  else
    tr -s ' \n' '\n' <<<"$words" | normalize
  fi
}

# bash splits words at spaces and at '=' (COMP_WORDBREAKS); so does this.
bash_matches() (
  local line=$1 word
  local -a words=()
  set -f
  for word in $line; do
    if [[ $word == *=* ]]; then
      words+=("${word%%=*}" "=" "${word#*=}")
    else
      words+=("$word")
    fi
  done
  [[ $line == *" " || ${words[-1]} == "=" ]] && words+=("")
  # shellcheck source=/dev/null
  source "$completions/cactool.bash"
  complete -p "${words[0]}" >/dev/null || exit 1
  COMP_WORDS=("${words[@]}")
  COMP_CWORD=$((${#words[@]} - 1))
  COMPREPLY=()
  _cactool "${words[0]}" "${words[-1]}" "${words[-2]:-}" 2>/dev/null
  printf '%s\n' "${COMPREPLY[@]}"
)

zsh_matches() {
  zsh "$here/zsh-complete.zsh" "$completions" "$1"
}

fish_matches() {
  # shellcheck disable=SC2016 # fish expands $argv, not bash
  fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$completions/cactool.fish" "$1" |
    cut -f1
}

failures=0
check_shell() {
  local shell=$1 entry line want got
  for entry in "${cases[@]}"; do
    line=${entry%%|*}
    want=$(expected_set "${entry#*|}")
    got=$("${shell}_matches" "$line" | normalize)
    if [[ $got != "$want" ]]; then
      echo "FAIL $shell: '$line'"
      diff <(echo "$want") <(echo "$got") | sed 's/^/    /'
      failures=$((failures + 1))
    fi
  done
  echo "checked $shell: ${#cases[@]} command lines"
}

# The link names must be registered too.
for name in cactool cactool-slots cactool-certs cactool-login cactool-readers cactool-watch cactool-apdu \
  cactool-errors-report cactool-diag; do
  if ! bash -c 'source "$1"; complete -p "$2"' _ "$completions/cactool.bash" "$name" >/dev/null
  then
    echo "FAIL bash: no completion registered for $name"
    failures=$((failures + 1))
  fi
done

# The options in the first column of CLI11's --help, one a line.
help_options() {
  "$@" --help | sed -n 's/^  \(-[^ ]*\).*/\1/p' | tr ',' '\n' | LC_ALL=C sort -u
}

# What the bash completion offers for a subcommand ("" for the global options).
completion_options() (
  # shellcheck source=/dev/null
  source "$completions/cactool.bash"
  if [[ -z $1 ]]; then
    # shellcheck disable=SC2154 # set by the sourced completion
    echo "$_cactool_global_options"
  else
    echo -h --help "$(_cactool_subcommand_options "$1")"
  fi | tr -s '[:space:]' '\n' | grep -v '^$' | LC_ALL=C sort -u
)

check_against_help() {
  local sub want got
  for sub in "" slots certs login readers watch apdu errors-report diag; do
    # shellcheck disable=SC2086 # no subcommand word for the global options
    want=$(help_options "$cactool" $sub)
    got=$(completion_options "$sub")
    if [[ -z $want || $got != "$want" ]]; then
      echo "FAIL bash: options of 'cactool $sub' differ from its --help (< help, > completion)"
      diff <(echo "$want") <(echo "$got") | sed 's/^/    /'
      failures=$((failures + 1))
    fi
  done
  echo "checked the bash completion against $cactool --help"
}

check_shell bash
if [[ -n $cactool ]]; then
  check_against_help
fi
if command -v zsh >/dev/null && zsh -c 'zmodload zsh/zpty' 2>/dev/null; then
  check_shell zsh
else
  echo "skipped zsh: not installed"
fi
if command -v fish >/dev/null; then
  check_shell fish
else
  echo "skipped fish: not installed"
fi

if ((failures > 0)); then
  echo "$failures completion check(s) failed"
  exit 1
fi
echo "all completion checks passed"
