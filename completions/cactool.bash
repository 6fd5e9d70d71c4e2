# bash completion for cactool and its cactool-SUBCOMMAND links.
#
# Works with or without the bash-completion package: it reads COMP_WORDS itself.
# bash splits "--format=pem" at the '=' (COMP_WORDBREAKS), so a lone "=" word
# means the option before it is waiting for its value.

_cactool_subcommands="slots certs login readers watch apdu errors-report diag"

_cactool_global_options="--json -v --verbose -q --quiet --trace --module --reader --slot
    --token --timeout --config --journal --no-journal --color --version -h --help"

# Options that take a value, so the word after them is not a subcommand.
_cactool_value_options="--module --reader --slot --token --timeout --config --journal --color
    --pin-env --pin-file --export --format --ca-file --ca-dir --at --script --expect --exec
    --since --until --category --code -o --output --pattern-count --pattern-window"

_cactool_subcommand_options() {
    case $1 in
    slots) echo "--all-modules --mechanisms" ;;
    certs) echo "--login --force --pin-stdin --pin-env --pin-file --export --overwrite --format --validate
        --ca-file --ca-dir --at --pcsc" ;;
    login) echo "--so --check --force --pcsc --pin-stdin --pin-env --pin-file" ;;
    readers) echo "--probe" ;;
    watch) echo "--once --wait-card --exec" ;;
    apdu) echo "--script --expect --chain --tlv --no-get-response" ;;
    errors-report) echo "--since --until --category --code --include-context --include-rotated
        --rotate -o --output --pattern-count --pattern-window" ;;
    diag) echo "--strict --ca-file --ca-dir --sign-test --force --pin-stdin --pin-env --pin-file" ;;
    esac
}

# Module names p11-kit knows: the unindented "name: path" lines.
_cactool_p11kit_modules() {
    command -v p11-kit >/dev/null 2>&1 || return
    p11-kit list-modules 2>/dev/null | sed -n 's/^\([^[:space:]][^:]*\):.*/\1/p'
}

# Token labels p11-kit can see, one a line (labels may hold spaces).
_cactool_p11kit_tokens() {
    command -v p11-kit >/dev/null 2>&1 || return
    p11-kit list-modules 2>/dev/null | sed -n 's/^[[:space:]]*token: \(..*\)$/\1/p'
}

# The PC/SC readers cactool itself lists, one name a line (names hold spaces).
_cactool_readers() {
    command -v cactool >/dev/null 2>&1 || return
    cactool --json readers 2>/dev/null | sed -n 's/^ *"name": "\(.*\)",$/\1/p'
}

# Fills COMPREPLY with the lines of $1 that start with $2, quoted for the shell.
_cactool_reply_lines() {
    local line
    while IFS= read -r line; do
        [[ -n $line && $line == "$2"* ]] && COMPREPLY+=("$(printf '%q' "$line")")
    done <<<"$1"
}

_cactool_value() {
    local option=$1 cur=$2
    case $option in
    --color) mapfile -t COMPREPLY < <(compgen -W "auto always never" -- "$cur") ;;
    --format) mapfile -t COMPREPLY < <(compgen -W "pem der" -- "$cur") ;;
    --category)
        mapfile -t COMPREPLY < <(compgen -W "usage configuration middleware communication
            card_state authentication token internal" -- "$cur")
        ;;
    --config | --pin-file | --ca-file | --journal | -o | --output)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        ;;
    --script)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        [[ -z $cur || $cur == - ]] && COMPREPLY+=(-)
        ;;
    --ca-dir)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        ;;
    --export)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        [[ -z $cur || $cur == - ]] && COMPREPLY+=(-)
        ;;
    --module)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -W "$(_cactool_p11kit_modules)" -- "$cur"
            compgen -f -- "$cur")
        ;;
    --token) _cactool_reply_lines "$(_cactool_p11kit_tokens)" "$cur" ;;
    --reader) _cactool_reply_lines "$(_cactool_readers)" "$cur" ;;
    --pin-env) mapfile -t COMPREPLY < <(compgen -e -- "$cur") ;;
    *) COMPREPLY=() ;;
    esac
}

_cactool() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=""
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    if [[ $cur == = ]]; then
        cur=""
    elif [[ $prev == = ]] && ((COMP_CWORD >= 2)); then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    fi
    COMPREPLY=()

    if [[ " ${_cactool_value_options//$'\n'/ } " == *" $prev "* ]]; then
        _cactool_value "$prev" "$cur"
        return 0
    fi

    # The subcommand: from the link name, or the first word that is neither an
    # option nor an option's value.
    local command="" self=${COMP_WORDS[0]##*/} i word
    [[ $self == cactool-* ]] && command=${self#cactool-}
    for ((i = 1; i < COMP_CWORD && ${#command} == 0; i++)); do
        word=${COMP_WORDS[i]}
        if [[ " ${_cactool_value_options//$'\n'/ } " == *" $word "* ]]; then
            ((i++))
            [[ ${COMP_WORDS[i]} == = ]] && ((i++))
        elif [[ $word != -* && $word != = ]]; then
            command=$word
        fi
    done

    if [[ -z $command ]]; then
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W "$_cactool_global_options" -- "$cur")
        else
            mapfile -t COMPREPLY < <(compgen -W "$_cactool_subcommands" -- "$cur")
        fi
    elif [[ $cur == -* ]]; then
        local options
        options="$_cactool_global_options $(_cactool_subcommand_options "$command")"
        mapfile -t COMPREPLY < <(compgen -W "$options" -- "$cur")
    fi
    return 0
}

complete -F _cactool cactool cactool-slots cactool-certs cactool-login cactool-readers cactool-watch cactool-apdu \
    cactool-errors-report cactool-diag
