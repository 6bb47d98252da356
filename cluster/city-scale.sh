#!/usr/bin/env bash
# The whole of Shanghai on one machine: 232 processes (1 city, 16 districts, 215 streets, 6,077 committees). Starts
# them with `shequ cluster up`, reports the start time and the total resident memory, writes a notice at a street and
# times it until the city serves it, then stops every node with `shequ cluster down`. `make soak` runs it.
#   cluster/city-scale.sh PATH/TO/shequ [WORKDIR]
set -euo pipefail
shequ=$(readlink -f "$1")
work=${2:-$(mktemp -d)}
mkdir -p "$work"
cleanup() {
  # Only what this script started: the pids `cluster up` recorded.
  [ -f "$work/data/endpoints.json" ] && "$shequ" cluster down --data "$work/data" > /dev/null 2>&1 || true
}
trap cleanup EXIT
now() { date +%s.%N; }

"$shequ" cluster generate shanghai --out "$work/shanghai.yaml" --keys "$work/keys"
started=$(now)
"$shequ" cluster up "$work/shanghai.yaml" --keys "$work/keys" --data "$work/data" > "$work/up.log"
up=$(echo "$(now) - $started" | bc)
pids=$(jq -r '.[].pid' "$work/data/endpoints.json")
count=$(echo "$pids" | wc -l)
rss_kb=$(ps -o rss= -p $(echo $pids | tr ' ' ',') | awk '{s += $1} END {print s}')
# RSS counts the shared binary and libraries once per process; PSS divides shared pages among their users.
pss_kb=$(for pid in $pids; do awk '/^Pss:/ {print $2}' /proc/$pid/smaps_rollup; done | awk '{s += $1} END {print s}')
printf 'city scale: %d processes up and answering in %.1f s\n' "$count" "$up"
printf 'city scale: memory in all %.2f GiB proportional (PSS), %.2f GiB resident (RSS); per node %.1f MiB PSS, %.1f MiB RSS\n' \
  "$(echo "$pss_kb / 1048576" | bc -l)" "$(echo "$rss_kb / 1048576" | bc -l)" "$(echo "$pss_kb / 1024 / $count" | bc -l)" "$(echo "$rss_kb / 1024 / $count" | bc -l)"

# A notice at one street, read at the city.
street=$(jq -r '[.[] | select(.role == "street")][100].id' "$work/data/endpoints.json")
street_http=$(jq -r --arg id "$street" '.[] | select(.id == $id) | .http' "$work/data/endpoints.json")
city_http=$(jq -r '.[] | select(.role == "city") | .http' "$work/data/endpoints.json")
committee=$(awk -v id="$street" '$0 ~ "id: "id"$" {found=1} found && /committees:/ {getline; sub(/:.*/, ""); gsub(/ /, ""); print; exit}' "$work/shanghai.yaml")
cadre=$("$shequ" admin staff --data "$work/data/$street" --node "$street" --key "$work/keys/$street.key" --role cadre --name 值班主任 --committee "$committee" | awk '/^token/ {print $2}')
officer=$("$shequ" admin staff --data "$work/data/city" --node city --key "$work/keys/city.key" --role city_officer --name 市级值班 | awk '/^token/ {print $2}')
sleep 6  # the city officer's account is read at the next request; anti-entropy picks up the cadre within 5 s
written=$(now)
post=$(curl -fsS -X POST "$street_http/v1/committees/$committee/boards/announcements/posts" -H "Authorization: Bearer $cadre" \
  -H 'Content-Type: application/json' -d '{"title":"全市演练","body":"232 个节点"}' | jq -r .id)
seen=""
for i in $(seq 1 600); do
  if curl -fsS "$city_http/v1/posts/$post" -H "Authorization: Bearer $officer" > /dev/null 2>&1; then seen=$(now); break; fi
  sleep 0.05
done
[ -n "$seen" ] || { echo "city scale: the post from $street never reached the city"; exit 1; }
printf 'city scale: a post at %s (%s) served by the city after %.0f ms\n' "$street" "$committee" "$(echo "($seen - $written) * 1000" | bc)"
members=$(curl -fsS "$city_http/v1/cluster/members" -H "Authorization: Bearer $officer" | jq '[.items[] | select(.state == "alive")] | length')
echo "city scale: the city's failure detector sees $members of $((count - 1)) other nodes alive"

stopping=$(now)
"$shequ" cluster down --data "$work/data"
printf 'city scale: all stopped in %.1f s\n' "$(echo "$(now) - $stopping" | bc)"
for pid in $pids; do
  # Still one of ours (pids are reused) and not a zombie waiting for its parent.
  if grep -qs "$work/data" "/proc/$pid/cmdline" && [ "$(ps -o stat= -p "$pid" | cut -c1)" != Z ]; then
    echo "city scale: $pid still running"; exit 1
  fi
done
rm -f "$work/data/endpoints.json"
echo "city scale: ok"
