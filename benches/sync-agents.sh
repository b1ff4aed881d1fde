#!/usr/bin/env bash
# How many agents one desk branch serves: N clones of one desk, each making
# R rounds of (a note on one shared ticket, then `tix sync`), all at once,
# through one bare remote on this machine. Prints the wall time, how many
# syncs failed, how many extra pulls the push races cost, and whether every
# note reached the remote.
#
#   cargo build --release && benches/sync-agents.sh 20 5
set -euo pipefail
N=${1:-10}
R=${2:-5}
T=${TIX:-$(cd "$(dirname "$0")/.." && pwd)/target/release/tix}
export GIT_CONFIG_GLOBAL=/dev/null TIX_AGENT="Ana <ana@example.com>" TIX_NOW=2025-03-03T09:00:00Z
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir "$W/seed"
cd "$W/seed"
"$T" init >/dev/null 2>&1
id=$("$T" new "Shared" --format json | sed -n 's/^  "id": "\(.*\)",$/\1/p')
cd "$W"
git clone -q --bare seed remote.git
for i in $(seq 1 "$N"); do git clone -q remote.git "c$i"; done
start=$(date +%s%N)
for i in $(seq 1 "$N"); do
    (
        cd "c$i"
        for r in $(seq 1 "$R"); do
            "$T" note "$id" -m "agent $i round $r" >/dev/null 2>&1
            if out=$("$T" sync 2>&1); then echo "0|$out"; else echo "1|$out"; fi >>"$W/results"
        done
    ) &
done
wait
end=$(date +%s%N)
echo "agents: $N, rounds: $R, wall: $(( (end - start) / 1000000 )) ms"
echo "syncs: $(wc -l <"$W/results"), failed: $(grep -vc '^0|' "$W/results" || true)"
extra=$(grep -o 'after [0-9]* pulls\|second pull' "$W/results" | sed 's/second pull/after 2 pulls/' | awk '{s += $2 - 1} END {print s + 0}')
echo "extra pulls after a lost push race: $extra"
cd c1
"$T" sync >/dev/null 2>&1
notes=$("$T" show "$id" --format json | grep -c '"body": "agent ' || true)
echo "notes on the remote: $notes of $((N * R))"
