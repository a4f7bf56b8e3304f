#!/usr/bin/env bash
# Image pull + unpack: berth's RegistryClient.pull() + unpackImage() beside `skopeo copy` +
# `umoci unpack` (and `docker pull` when a Docker engine answers), from a docker-registry on
# 127.0.0.1, of a multi-layer image (one gzip layer per Debian package, ≥ 100 MB unpacked) that
# the bench builds once with `apt-get download` + `dpkg-deb -x` and caches. Each sample starts
# from empty destinations; samples are interleaved. Prints median and p90 (s) per phase.
#
#   bash bench/images.sh                         (as root; N=5 samples after 1 warm-up)
#   BENCH_N=9 bash bench/images.sh
#   BENCH_PROFILE=/tmp/prof bash bench/images.sh (CPU profile of the first counted berth sample)
#   BENCH_PACKAGES="gcc-12 libllvm14 ..." bash bench/images.sh
#   BENCH_CONCURRENCY=6 bash bench/images.sh     (berth's parallel blob downloads; client default otherwise)
#   BENCH_BERTH_DIST_B=/other/checkout/dist bash bench/images.sh   (adds "berth B": A/B of a change)
#   BENCH_SYNC=0 bash bench/images.sh            (no untimed `sync -f` of the work fs before each contender)
#
# The image is cached under $BENCH_CACHE (default ${XDG_CACHE_HOME:-/var/cache}/berth-bench);
# everything else (registry, destinations) lives in a temp dir removed on exit, also on ctrl-c.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$(pwd)"
N="${BENCH_N:-5}"
WARMUP="${BENCH_WARMUP:-1}"
CACHE="${BENCH_CACHE:-${XDG_CACHE_HOME:-/var/cache}/berth-bench}"

die() {
  printf 'bench/images.sh: %s\n' "$*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (unpacking chowns files; umoci needs it without --rootless)"
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "BENCH_N must be a positive integer, got '$N'"
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a non-negative integer, got '$WARMUP'"
for bin in skopeo umoci docker-registry dpkg-deb apt-get tar; do
  command -v "$bin" >/dev/null || die "$bin is not installed (scripts/setup installs skopeo, umoci and docker-registry)"
done

# dist/ must be newer than the sources it is built from.
if [ ! -f dist/src/storage/overlay/unpack.js ] || [ -n "$(find src -name '*.ts' -newer dist/src/storage/overlay/unpack.js -print -quit)" ]; then
  echo "building (dist/ is missing or stale): npx tsc -p ." >&2
  if ! npx tsc -p . >&2; then
    [ -f dist/src/storage/overlay/unpack.js ] || die "npx tsc -p . failed and dist/ has no build to use"
    echo "bench/images.sh: npx tsc -p . failed (see above); measuring the dist/ there is" >&2
  fi
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-images-XXXXXX")"
BENCH_PID=""

# Our processes: those whose command line names $WORK (the registry, a berth sample, skopeo, umoci).
our_pids() {
  local p pid
  for p in /proc/[0-9]*; do
    pid="${p#/proc/}"
    [ "$pid" = "$$" ] && continue
    { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF -- "$WORK" && echo "$pid"
  done
  return 0
}

cleanup() {
  local pid pids
  # images.js stops what it started; if it was killed first, stop what is left here: TERM (the
  # registry exits cleanly), then KILL, by pid.
  pids="$(our_pids)"
  if [ -n "$pids" ]; then
    for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      pids="$(our_pids)"
      [ -z "$pids" ] && break
      sleep 0.3
    done
    for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
    sleep 0.2
  fi
  rm -rf --one-file-system -- "$WORK"
}
stop_bench() {
  if [ -n "$BENCH_PID" ]; then kill -TERM "$BENCH_PID" 2>/dev/null || true; wait "$BENCH_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'stop_bench; exit 130' INT
trap 'stop_bench; exit 143' TERM

echo "berth image pull/unpack benchmark ($(date -u +%Y-%m-%dT%H:%MZ)); cache $CACHE, work $WORK"
ARGS=(--work "$WORK" --cache "$CACHE" --n "$N" --warmup "$WARMUP")
[ -n "${BENCH_PROFILE:-}" ] && ARGS+=(--profile "$BENCH_PROFILE")
[ -n "${BENCH_CONCURRENCY:-}" ] && ARGS+=(--concurrency "$BENCH_CONCURRENCY")
[ -n "${BENCH_BERTH_DIST_B:-}" ] && ARGS+=(--berth-b "$BENCH_BERTH_DIST_B")
[ "${BENCH_SYNC:-1}" = 0 ] && ARGS+=(--no-sync)

# In the background + wait, so a TERM/INT to this script stops the measuring too.
node bench/images.js "${ARGS[@]}" </dev/null &
BENCH_PID=$!
wait "$BENCH_PID"
