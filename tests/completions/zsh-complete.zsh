#!/usr/bin/env zsh
# Prints, one a line, the matches zsh's completion system offers for a command line.
#
#   zsh-complete.zsh COMPLETION_DIR 'cactool certs --'
#
# Completion functions only run inside a line editor, so this starts an interactive
# zsh on a pseudo-terminal (zsh/zpty), types the line and a key bound to a widget
# that completes and then writes a marker. A compadd wrapper in that shell records
# every match offered, after the usual prefix matching.
emulate -L zsh
zmodload zsh/zpty || exit 77

local completion_dir=${1:A} line=$2
local work=$(mktemp -d) || exit 1
local out=$work/matches
: >$out

cat >$work/.zshrc <<RC
PS1='' RPS1=''
fpath=(${(q)completion_dir} \$fpath)
autoload -Uz compinit && compinit -u -D
compadd() {
  if (( \${@[(I)-[OAD]]} )); then builtin compadd "\$@"; return; fi
  local -a found
  builtin compadd -O found "\$@"
  (( \$#found )) && print -rl -- \$found >>${(q)out}
  builtin compadd "\$@"
}
complete-and-mark() { zle complete-word; print -r -- __done__ >>${(q)out} }
zle -N complete-and-mark
bindkey '^T' complete-and-mark
RC

zpty cz "ZDOTDIR=${(q)work} zsh -d -i"
zpty -w -n cz "$line"$'\x14'

local -i waited=0
while ! grep -q '^__done__$' $out 2>/dev/null && (( waited++ < 100 )); do
  sleep 0.05
done
zpty -d cz

local -i rc=0
grep -q '^__done__$' $out || { print -u2 "zsh completion did not finish"; rc=1 }
grep -v '^__done__$' $out | sort -u
rm -rf $work
exit $rc
