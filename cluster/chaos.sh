#!/usr/bin/env bash
# Real-process chaos on the demo topology (1 city, 2 districts, 4 streets, 24 committees): starts the federation as
# 7 `shequ serve` processes with the fault-injection switch on, writes posts at every street over HTTP, and for a
# bounded time SIGKILLs and restarts nodes and cuts streets off (PUT /v1/cluster/faults on both sides of each link).
# Then it heals everything and checks over HTTP that every replica of every committee has the same digest and that
# every acknowledged post is served by its district and the city; finally SQLite's integrity check on every database.
#   cluster/chaos.sh PATH/TO/shequ [SECONDS] [WORKDIR]
# Every loop is bounded: the chaos by SECONDS (default 60), convergence by 120 s. It stops only what it started.
set -euo pipefail
shequ=$(readlink -f "$1")
seconds=${2:-60}
work=${3:-$(mktemp -d)}
mkdir -p "$work"
data="$work/data"
cleanup() {
  [ -n "${load_pid:-}" ] && kill "$load_pid" 2> /dev/null || true
  [ -f "$data/endpoints.json" ] && "$shequ" cluster down --data "$data" > /dev/null 2>&1 || true
}
trap cleanup EXIT
now() { date +%s.%N; }
say() { printf 'chaos: %s\n' "$*"; }

"$shequ" cluster generate demo --out "$work/demo.yaml" --keys "$work/keys" > /dev/null
"$shequ" cluster up "$work/demo.yaml" --keys "$work/keys" --data "$data" --faults > "$work/up.log"
nodes=$(jq -r '.[].id' "$data/endpoints.json")
streets=$(jq -r '.[] | select(.role == "street") | .id' "$data/endpoints.json")
http() { jq -r --arg id "$1" '.[] | select(.id == $id) | .http' "$data/endpoints.json"; }
pid_of() { jq -r --arg id "$1" '.[] | select(.id == $id) | .pid' "$data/endpoints.json"; }
parent_of() { awk -v id="$1" '$0 ~ "id: "id"$" {found=1} found && /parent:/ {print $2; exit}' "$work/demo.yaml"; }

# An officer on every node (for the fault switch and the digests) and a cadre in two committees of every street.
declare -A officer cadre
for node in $nodes; do
  unit=${node#*.}
  case $node in
    city) role=(--role city_officer) ;;
    district.*) role=(--role district_officer --unit "$unit") ;;
    *) role=(--role street_officer --unit "$unit") ;;
  esac
  officer[$node]=$("$shequ" admin staff --data "$data/$node" --node "$node" --key "$work/keys/$node.key" "${role[@]}" --name 值班 | awk '/^token/ {print $2}')
done
for street in $streets; do
  committees=$(awk -v id="$street" '$0 ~ "id: "id"$" {found=1} found && /committees:/ {for (i = 0; i < 2; i++) {getline; sub(/:.*/, ""); gsub(/ /, ""); print}; exit}' "$work/demo.yaml")
  for committee in $committees; do
    cadre[$street/$committee]=$("$shequ" admin staff --data "$data/$street" --node "$street" --key "$work/keys/$street.key" --role cadre --name 主任 --committee "$committee" | awk '/^token/ {print $2}')
  done
done
say "$(echo "$nodes" | wc -w) nodes up; writing and breaking things for $seconds s"

# The load: posts at random streets, each acknowledged one recorded with where it was written.
deadline=$(echo "$(now) + $seconds" | bc)
targets=("${!cadre[@]}")
: > "$work/acked" ; : > "$work/failed"
(
  n=0
  while (( $(echo "$(now) < $deadline" | bc) )); do
    target=${targets[$((RANDOM % ${#targets[@]}))]}
    street=${target%%/*} committee=${target#*/}
    n=$((n + 1))
    if id=$(curl -fsS --max-time 2 -X POST "$(http "$street")/v1/committees/$committee/boards/announcements/posts" \
        -H "Authorization: Bearer ${cadre[$target]}" -H 'Content-Type: application/json' \
        -d "{\"title\":\"演练 $n\",\"body\":\"混沌测试第 $n 条\"}" 2> /dev/null | jq -re .id); then
      echo "$street $committee $id" >> "$work/acked"
    else
      echo "$street $committee" >> "$work/failed"
    fi
    sleep 0.05
  done
) &
load_pid=$!

# The chaos: every 2–5 s, kill a node (restarted 1–4 s later) or cut a street off (healed 2–6 s later).
block() {  # block STREET "PEERS-JSON" on the street and on each peer
  local street=$1 peers=$2
  curl -fsS --max-time 2 -X PUT "$(http "$street")/v1/cluster/faults" -H "Authorization: Bearer ${officer[$street]}" \
    -H 'Content-Type: application/json' -d "{\"blocked\":$peers}" > /dev/null 2>&1 || true
  for peer in $(parent_of "$street") city; do
    local theirs='[]'
    [ "$peers" != '[]' ] && theirs="[\"$street\"]"
    curl -fsS --max-time 2 -X PUT "$(http "$peer")/v1/cluster/faults" -H "Authorization: Bearer ${officer[$peer]}" \
      -H 'Content-Type: application/json' -d "{\"blocked\":$theirs}" > /dev/null 2>&1 || true
  done
}
restart() {
  local node=$1
  "$shequ" serve --config "$data/$node/node.yaml" >> "$data/$node/node.log" 2>&1 &
  local pid=$!
  jq --arg id "$node" --argjson pid "$pid" 'map(if .id == $id then .pid = $pid else . end)' "$data/endpoints.json" > "$data/endpoints.tmp"
  mv "$data/endpoints.tmp" "$data/endpoints.json"
  for _ in $(seq 1 100); do curl -fsS --max-time 1 "$(http "$node")/healthz" > /dev/null 2>&1 && return 0; sleep 0.1; done
  say "$node did not come back"; return 1
}
kills=0 cuts=0
all=($nodes) streets_list=($streets)
while (( $(echo "$(now) < $deadline" | bc) )); do
  sleep "$((2 + RANDOM % 4))"
  if (( RANDOM % 2 )); then
    node=${all[$((RANDOM % ${#all[@]}))]}
    kill -KILL "$(pid_of "$node")"
    kills=$((kills + 1))
    say "SIGKILL $node"
    sleep "$((1 + RANDOM % 4))"
    restart "$node"
  else
    street=${streets_list[$((RANDOM % ${#streets_list[@]}))]}
    cuts=$((cuts + 1))
    say "cut $street off from $(parent_of "$street") and city"
    block "$street" "[\"$(parent_of "$street")\",\"city\"]"
    sleep "$((2 + RANDOM % 5))"
    block "$street" '[]'
  fi
done
wait "$load_pid" || true
load_pid=""

# Heal: every switch off (a restarted node starts with it off), then wait for equal digests everywhere.
for street in $streets; do block "$street" '[]'; done
healed=$(now)
converged=""
for _ in $(seq 1 240); do
  ok=1
  for street in $streets; do
    mine=$(curl -fsS --max-time 2 "$(http "$street")/v1/cluster/digests" -H "Authorization: Bearer ${officer[$street]}" | jq -S .digests) || { ok=0; break; }
    for peer in $(parent_of "$street") city; do
      theirs=$(curl -fsS --max-time 2 "$(http "$peer")/v1/cluster/digests" -H "Authorization: Bearer ${officer[$peer]}" \
        | jq -S --argjson mine "$mine" '.digests | with_entries(select(.key as $k | $mine | has($k)))') || { ok=0; break; }
      [ "$mine" == "$theirs" ] || { ok=0; break; }
    done
    [ $ok == 1 ] || break
  done
  if [ $ok == 1 ]; then converged=$(now); break; fi
  sleep 0.5
done
[ -n "$converged" ] || { say "FAILED: replicas still differ 120 s after healing"; exit 1; }

# Nothing acknowledged is lost: every post is served by its district and by the city.
acked=$(wc -l < "$work/acked") failed=$(wc -l < "$work/failed") missing=0
while read -r street committee id; do
  for peer in $(parent_of "$street") city; do
    curl -fsS --max-time 2 "$(http "$peer")/v1/posts/$id" -H "Authorization: Bearer ${officer[$peer]}" > /dev/null 2>&1 \
      || { missing=$((missing + 1)); say "post $id from $street is missing at $peer"; }
  done
done < "$work/acked"

"$shequ" cluster down --data "$data" > /dev/null
rm -f "$data/endpoints.json"
bad=0
for node in $nodes; do
  result=$(sqlite3 "$data/$node/node.sqlite" 'PRAGMA integrity_check')
  [ "$result" == ok ] || { bad=$((bad + 1)); say "$node: integrity check: $result"; }
done
say "$kills SIGKILLs and restarts, $cuts street cut-offs in $seconds s"
say "$acked posts acknowledged, $failed refused or timed out while their street was down"
printf 'chaos: every replica equal %.1f s after healing; %d acknowledged posts missing; %d databases failed the integrity check\n' \
  "$(echo "$converged - $healed" | bc)" "$missing" "$bad"
[ "$missing" == 0 ] && [ "$bad" == 0 ] || { say "FAILED"; exit 1; }
say "ok"
