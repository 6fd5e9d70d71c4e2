# fish completion for cactool and its cactool-SUBCOMMAND links.

# Prints the subcommand on the command line: from a cactool-SUBCOMMAND link name,
# or the first word that is neither an option nor an option's value.
function __cactool_subcommand
    set -l words (commandline -opc)
    set -l self (string replace -r '^.*/' '' -- $words[1])
    if string match -q 'cactool-*' -- $self
        string replace 'cactool-' '' -- $self
        return 0
    end
    set -l skip_next 0
    for word in $words[2..-1]
        if test $skip_next = 1
            set skip_next 0
            continue
        end
        switch $word
            case --module --reader --slot --token --timeout --config --journal --color \
                --pin-env --pin-file --export --format --ca-file --ca-dir --at --script \
                --expect --exec --since --until --category --code -o --output \
                --pattern-count --pattern-window
                set skip_next 1
            case '-*'
            case '*'
                echo $word
                return 0
        end
    end
    return 1
end

function __cactool_needs_subcommand
    not __cactool_subcommand >/dev/null
end

function __cactool_using
    test "$(__cactool_subcommand)" = $argv[1]
end

# Module names p11-kit knows: the unindented "name: path" lines.
function __cactool_p11kit_modules
    command -q p11-kit; or return
    p11-kit list-modules 2>/dev/null | string match -r '^[^\s][^:]*'
end

# The PC/SC readers cactool itself lists.
function __cactool_readers
    command -q cactool; or return
    cactool --json readers 2>/dev/null | string match -r -g '^\s*"name": "(.*)",$'
end

# Token labels p11-kit can see.
function __cactool_p11kit_tokens
    command -q p11-kit; or return
    p11-kit list-modules 2>/dev/null | string match -r -g '^\s+token: (.+)$'
end

for cmd in cactool cactool-slots cactool-certs cactool-login cactool-readers cactool-watch cactool-apdu \
    cactool-errors-report cactool-diag
    complete -c $cmd -f

    # Global options, accepted before or after the subcommand.
    complete -c $cmd -l json -d 'Machine output: one JSON document on stdout'
    complete -c $cmd -s v -l verbose -d 'More detail on stderr (repeat for debug)'
    complete -c $cmd -s q -l quiet -d 'Only errors on stderr'
    complete -c $cmd -l trace -d 'Log every PKCS#11 call and APDU with its duration'
    complete -c $cmd -l module -r -F -a '(__cactool_p11kit_modules)' \
        -d 'PKCS#11 module: a path or a p11-kit module name'
    complete -c $cmd -l reader -x -a '(__cactool_readers)' -d 'PC/SC reader: index, exact name or unique substring'
    complete -c $cmd -l slot -x -d 'PKCS#11 slot id'
    complete -c $cmd -l token -x -a '(__cactool_p11kit_tokens)' -d 'Token label or pkcs11: URI'
    complete -c $cmd -l timeout -x -d 'Bound on card operations, in seconds'
    complete -c $cmd -l config -r -F -d 'Config file'
    complete -c $cmd -l journal -r -F -d 'Error journal location'
    complete -c $cmd -l no-journal -d 'Keep no error journal'
    complete -c $cmd -l color -x -a 'auto always never' -d 'When to colour the output'
    complete -c $cmd -l version -d 'Print the version and exit'
    complete -c $cmd -s h -l help -d 'Print help and exit'
end

complete -c cactool -n __cactool_needs_subcommand -a slots \
    -d 'PKCS#11 modules, slots and tokens, with flags and PIN status'
complete -c cactool -n __cactool_needs_subcommand -a certs \
    -d 'Certificates on a token, with their keys, validity and chain'
complete -c cactool -n __cactool_needs_subcommand -a login \
    -d 'Verify a PIN through PKCS#11, or report its retry status'
complete -c cactool -n __cactool_needs_subcommand -a readers \
    -d "PC/SC readers, their state, the card's ATR and what it identifies"
complete -c cactool -n __cactool_needs_subcommand -a watch \
    -d 'Reader and card events as they happen, one line each'
complete -c cactool -n __cactool_needs_subcommand -a apdu \
    -d 'Send APDUs or a scriptor script to a card, with status word meanings'
complete -c cactool -n __cactool_needs_subcommand -a errors-report \
    -d 'What the error journal recorded: counts, recovery rate and patterns'
complete -c cactool -n __cactool_needs_subcommand -a diag \
    -d 'Check the whole stack, say what is wrong and how to fix it'

for cmd in cactool cactool-slots cactool-certs cactool-login cactool-readers cactool-watch cactool-apdu \
    cactool-errors-report cactool-diag
    complete -c $cmd -n '__cactool_using slots' -l all-modules \
        -d 'Every module p11-kit knows plus detected ones'
    complete -c $cmd -n '__cactool_using slots' -l mechanisms -d "Also list each token's mechanisms"

    complete -c $cmd -n '__cactool_using certs' -l login \
        -d 'Log in first so that private objects count'
    complete -c $cmd -n '__cactool_using certs' -l overwrite \
        -d 'With --export, replace files that already exist'
    complete -c $cmd -n '__cactool_using certs' -l force \
        -d 'With --login, log in even at the final PIN try'
    complete -c $cmd -n '__cactool_using certs' -l export -x \
        -a '(__fish_complete_directories (commandline -ct)) -\t"standard output"' \
        -d 'Write the certificates to a directory, or - for stdout'
    complete -c $cmd -n '__cactool_using certs' -l format -x -a 'pem der' \
        -d 'Encoding for --export'
    complete -c $cmd -n '__cactool_using certs' -l validate -d "Build and check each chain"
    complete -c $cmd -n '__cactool_using certs' -l ca-file -r -F \
        -d 'PEM file of trusted CA certificates'
    complete -c $cmd -n '__cactool_using certs' -l ca-dir -x \
        -a '(__fish_complete_directories (commandline -ct))' \
        -d 'Directory of trusted CA certificates'
    complete -c $cmd -n '__cactool_using certs' -l at -x \
        -d 'Verification time for --validate (RFC 3339)'
    complete -c $cmd -n '__cactool_using certs' -l pcsc \
        -d 'Read the PIV certificate containers over PC/SC'

    complete -c $cmd -n '__cactool_using login' -l so -d 'Log in as the Security Officer'
    complete -c $cmd -n '__cactool_using login' -l check -d 'Only report the PIN retry status'
    complete -c $cmd -n '__cactool_using login' -l force -d 'Present the PIN even at the final try'
    complete -c $cmd -n '__cactool_using login' -l pcsc \
        -d 'Verify the PIV PIN with VERIFY over PC/SC, without a module'

    complete -c $cmd -n '__cactool_using readers' -l probe \
        -d 'Select the PIV and CAC applications and read the PIV objects free to read'

    complete -c $cmd -n '__cactool_using watch' -l once -d 'Stop after the first event'
    complete -c $cmd -n '__cactool_using watch' -l wait-card \
        -d 'Wait until a card is present, then exit 0 (3 on timeout)'
    complete -c $cmd -n '__cactool_using watch' -l exec -x -a '(__fish_complete_command)' \
        -d 'Run a command with /bin/sh for each event'

    complete -c $cmd -n '__cactool_using apdu' -l script -r -F \
        -d 'A scriptor script, or - for stdin'
    complete -c $cmd -n '__cactool_using apdu' -l expect -x \
        -d 'Status word each APDU must end with (9000, 61xx, 9000|6A82)'
    complete -c $cmd -n '__cactool_using apdu' -l chain \
        -d 'Send data over 255 bytes with command chaining'
    complete -c $cmd -n '__cactool_using apdu' -l tlv -d 'Decode response data as BER-TLV'
    complete -c $cmd -n '__cactool_using apdu' -l no-get-response \
        -d 'Leave 61xx answers for the next command to fetch'

    set -l report "__cactool_using errors-report"
    complete -c $cmd -n $report -l since -x \
        -d 'Only records at or after this RFC 3339 time, or this long ago (24h, 7d)'
    complete -c $cmd -n $report -l until -x \
        -d 'Only records at or before this RFC 3339 time, or this long ago'
    complete -c $cmd -n $report -l category -x \
        -a 'usage configuration middleware communication card_state authentication token internal' \
        -d 'Only these categories'
    complete -c $cmd -n $report -l code -x -d 'Only these codes: names or numbers'
    complete -c $cmd -n $report -l include-context -d 'List the matching records themselves'
    complete -c $cmd -n $report -l include-rotated -d 'Also read the previous journal file'
    complete -c $cmd -n $report -l rotate -d 'Move the journal aside and report on it'
    complete -c $cmd -n $report -s o -l output -r -F -d 'Write the JSON report to a file'
    complete -c $cmd -n $report -l pattern-count -x \
        -d 'Failures of one code and operation that make a pattern'
    complete -c $cmd -n $report -l pattern-window -x -d 'How close together they must be'

    complete -c $cmd -n '__cactool_using diag' -l strict \
        -d 'Exit 8 when a check warned, not only failed'
    complete -c $cmd -n '__cactool_using diag' -l ca-file -r -F \
        -d 'Trust anchors for the chain check: a PEM, DER or PKCS#7 file'
    complete -c $cmd -n '__cactool_using diag' -l ca-dir -x \
        -a '(__fish_complete_directories (commandline -ct))' \
        -d 'Trust anchors for the chain check: a directory of certificates'
    complete -c $cmd -n '__cactool_using diag' -l sign-test \
        -d 'Log in and sign a challenge with each key, verified with its certificate'
    complete -c $cmd -n '__cactool_using diag' -l force \
        -d 'With --sign-test: present the PIN even at the final try'

    for sub in certs login diag
        complete -c $cmd -n "__cactool_using $sub" -l pin-stdin \
            -d 'Read the PIN from the first line of stdin'
        complete -c $cmd -n "__cactool_using $sub" -l pin-env -x -a '(set -nx)' \
            -d 'Read the PIN from an environment variable'
        complete -c $cmd -n "__cactool_using $sub" -l pin-file -r -F \
            -d 'Read the PIN from a file'
    end
end
