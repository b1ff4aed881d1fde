#!/bin/sh
# A tour of tix on a throw-away desk. Run after `cargo install --path .`.
set -eu
desk=$(mktemp -d "${TMPDIR:-/tmp}/tix-demo.XXXXXX")
export TIX_AGENT="${TIX_AGENT:-Demo Agent <agent@example.com>}"
# The tour prints as one transcript: no pager stops it half-way (typed at
# a terminal, tix and git show long output through less).
export TIX_PAGER=cat GIT_PAGER=cat
# Prints each command as a shell reads it back (quoted where needed), so
# it can be copied, then runs it.
quote() {
    sep=''
    for arg; do
        case $arg in
        '' | *[!A-Za-z0-9_./:@%+=,-]*) printf "%s'%s'" "$sep" "$(printf '%s' "$arg" | sed "s/'/'\\\\''/g")" ;;
        *) printf '%s%s' "$sep" "$arg" ;;
        esac
        sep=' '
    done
}
run() { printf '\n$ '; quote "$@"; printf '\n'; "$@"; }

run tix init "$desk"
cd "$desk"
a=$(tix new "Printer on fire" --customer "Bo Berg" --email bo@example.com --priority urgent -m "It smokes since this morning." --format json | sed -n 's/^  "id": "\(.*\)",$/\1/p')
tix new "Invoice shows the wrong VAT" --email finance@example.org --tag billing -m "Line 3 should be 19%." >/dev/null
tix new "Password reset mail never arrives" --email kim@example.net -m "Checked spam too." >/dev/null
run tix list
run tix assign "$a"
run tix reply "$a" -m "Please unplug it and keep a safe distance."
run tix reply "$a" --customer -m "Unplugged. It stopped smoking, thanks!"
run tix resolve "$a" -m "Hardware fault; replacement ordered"
run tix show "$a"
run tix log "$a"
run git log --oneline
printf '\nThe demo desk is in %s\n' "$desk"
