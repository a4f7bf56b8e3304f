#!/usr/bin/env bash
# Starts, stops or restarts berth's daemon (bin/berthd) in the background, logging to
# /var/log/berthd.log. berthd keeps containers running across a restart (live restore).
#   scripts/berthd.sh start|stop|restart|status
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PIDFILE="${BERTHD_PIDFILE:-/run/berth/berthd.pid}"
SOCK="${BERTHD_SOCKET:-/run/berth/berth.sock}"
LOG="${BERTHD_LOG:-/var/log/berthd.log}"

running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid; pid="$(cat "$PIDFILE")"
  [ -n "$pid" ] && [ -d "/proc/$pid" ] && grep -q berthd "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

start() {
  if pid="$(running_pid)"; then echo "berthd is running (pid $pid)"; return 0; fi
  mkdir -p "$(dirname "$LOG")"
  setsid "$REPO/bin/berthd" "$@" >>"$LOG" 2>&1 </dev/null &
  for _ in $(seq 1 100); do
    if [ -S "$SOCK" ] && curl -sf --unix-socket "$SOCK" http://berth/_ping >/dev/null 2>&1; then
      echo "berthd started (pid $(cat "$PIDFILE")), listening on unix://$SOCK, log $LOG"
      return 0
    fi
    sleep 0.1
  done
  echo "berthd did not come up within 10 s; see $LOG:" >&2
  tail -n 20 "$LOG" >&2
  return 1
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then echo "berthd is not running"; return 0; fi
  kill -TERM "$pid"
  for _ in $(seq 1 100); do [ -d "/proc/$pid" ] || { echo "berthd stopped"; return 0; }; sleep 0.1; done
  echo "berthd (pid $pid) did not stop within 10 s" >&2
  return 1
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  restart) shift; stop; start "$@" ;;
  status) if pid="$(running_pid)"; then echo "berthd is running (pid $pid)"; else echo "berthd is not running"; exit 3; fi ;;
  *) echo "usage: scripts/berthd.sh start|stop|restart|status" >&2; exit 2 ;;
esac
