#!/usr/bin/env bash
# The engine's speed and weight, through the same docker CLI against berthd and (when Debian's
# docker.io is installed) against dockerd, each started here with its own roots and socket:
#   docker run --rm --network none busybox true      (median, hyperfine)
#   docker exec c true
#   50 `docker run -d` in parallel, until all are running
#   berthd idle RSS, a monitor's RSS
# dockerd runs with --bridge=none --iptables=false --ip6tables=false: it touches no network
# setting of this machine. BENCH_N (default 20) samples per command. Both daemons keep their
# exec root (runtime state, sockets) on tmpfs under /run, as their defaults do (/run/berth,
# /var/run/docker), and their data roots on disk under /tmp.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${BENCH_N:-20}"
PAR="${BENCH_PARALLEL:-50}"
[ "$(id -u)" -eq 0 ] || { echo "bench/engine.sh: run as root" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "bench/engine.sh: hyperfine is missing (apt-get install hyperfine)" >&2; exit 1; }
T="$(mktemp -d /tmp/berth-bench-engine-XXXXXX)"
R="$(mktemp -d /run/berth-bench-engine-XXXXXX)"
PIDS=()
cleanup() {
  for sock in "$R/berth/berth.sock" "$T/docker.sock"; do
    [ -S "$sock" ] || continue
    ids="$(DOCKER_HOST=unix://$sock docker ps -aq 2>/dev/null || true)"
    [ -n "$ids" ] && DOCKER_HOST=unix://$sock docker rm -f $ids >/dev/null 2>&1 || true
  done
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do for _ in $(seq 1 100); do [ -d /proc/$p ] || break; sleep 0.1; done; done
  for d in "$T" "$R"; do
    if grep -q "$d" /proc/self/mountinfo; then echo "bench: mounts left under $d; not removing it" >&2; else rm -rf "$d"; fi
  done
}
trap cleanup EXIT INT TERM

wait_sock() { for _ in $(seq 1 300); do curl -sf --unix-socket "$1" http://x/_ping >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no daemon on $1" >&2; return 1; }
bash "$REPO/scripts/busybox-tarball.sh" "$T/busybox.tar"

"$REPO/bin/berthd" --config-file /dev/null --data-root "$T/berth/data" --exec-root "$R/berth" >"$T/berthd.log" 2>&1 &
PIDS+=($!)
BERTHD_PID=$!
wait_sock "$R/berth/berth.sock"
TARGETS=("berthd=unix://$R/berth/berth.sock")
if command -v dockerd >/dev/null; then
  dockerd --bridge=none --iptables=false --ip6tables=false --ip-masq=false --userland-proxy=false \
    --data-root "$T/docker-data" --exec-root "$R/docker" --pidfile "$T/docker.pid" -H "unix://$T/docker.sock" >"$T/dockerd.log" 2>&1 &
  PIDS+=($!)
  wait_sock "$T/docker.sock" && TARGETS+=("dockerd=unix://$T/docker.sock")
else
  echo "dockerd: not installed (apt-get install docker.io; it does not start itself where policy-rc.d forbids): berthd only"
fi
sleep 1
echo "berthd idle RSS: $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' /proc/$BERTHD_PID/status)"

for t in "${TARGETS[@]}"; do
  name="${t%%=*}"; host="${t#*=}"
  export DOCKER_HOST="$host"
  docker import -c 'CMD ["sh"]' "$T/busybox.tar" busybox:latest >/dev/null
  docker run -d --name bench-exec --network none busybox sleep 100000 >/dev/null
  echo "== $name ($(docker version --format '{{.Server.Version}} API {{.Server.APIVersion}}'))"
  hyperfine -N -w 3 -r "$N" --export-json "$T/$name-run.json" "docker run --rm --network none busybox true" >/dev/null
  hyperfine -N -w 3 -r "$N" --export-json "$T/$name-exec.json" "docker exec bench-exec true" >/dev/null
  for what in run exec; do
    jq -r --arg n "$name" --arg w "$what" '.results[0] | "\($n) \($w): median \(.median*1000|floor) ms, mean \(.mean*1000|floor) ms ± \(.stddev*1000|floor)"' "$T/$name-$what.json"
  done
  if [ "$name" = berthd ]; then
    # The berth CLI on the same daemon, beside the docker CLI and Node's own start-up.
    hyperfine -N -w 3 -r "$N" --export-json "$T/cli.json" "node -e 0" "$REPO/bin/berth ps" "docker ps" \
      "$REPO/bin/berth run --rm --network none busybox true" >/dev/null
    jq -r '.results[] | "cli: \(.command | sub(".*/bin/"; "")): median \(.median*1000|floor) ms, mean \(.mean*1000|floor) ms ± \(.stddev*1000|floor)"' "$T/cli.json"
  fi
  start=$(date +%s%N)
  runs=()
  for i in $(seq 1 "$PAR"); do docker run -d --network none --name "bench-par-$i" busybox sleep 100000 >/dev/null & runs+=($!); done
  wait "${runs[@]}"   # only these: a bare `wait` would wait for the daemons too
  while [ "$(docker ps -q --filter name=bench-par- | wc -l)" -lt "$PAR" ]; do sleep 0.05; done
  echo "$name: $PAR parallel run -d until all running: $(( ($(date +%s%N) - start) / 1000000 )) ms"
  if [ "$name" = berthd ]; then
    mon="$(pgrep -f "berth-monitor --dir $R/berth/m/" | head -n 1 || true)"
    [ -n "$mon" ] && echo "berth-monitor RSS (one of $PAR+1): $(awk '/VmRSS/ {print $2 " kB"}' /proc/$mon/status)"
    echo "berthd RSS with $((PAR+1)) containers: $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' /proc/$BERTHD_PID/status)"
  fi
  docker rm -f $(docker ps -aq) >/dev/null
done
if [ -f "$T/dockerd-run.json" ]; then
  dr=$(jq '.results[0].median' "$T/dockerd-run.json")
  echo "ratios against docker run --rm on dockerd (median $(jq -n "$dr*1000|floor") ms):"
  echo "  docker CLI on berthd: $(jq -n --argjson a "$(jq '.results[0].median' "$T/berthd-run.json")" --argjson b "$dr" '$a/$b*100|floor/100')x (target <= 0.25)"
  echo "  berth CLI on berthd:  $(jq -n --argjson a "$(jq '.results[3].median' "$T/cli.json")" --argjson b "$dr" '$a/$b*100|floor/100')x (target <= 0.35)"
  echo "  docker exec: $(jq -n --argjson a "$(jq '.results[0].median' "$T/berthd-exec.json")" --argjson b "$(jq '.results[0].median' "$T/dockerd-exec.json")" '$a/$b*100|floor/100')x (target <= 0.25)"
fi
