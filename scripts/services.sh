#!/usr/bin/env bash
# Starts the services the tests and the demo need, when they are not running already:
# PostgreSQL (127.0.0.1:5432, trust auth) and Redis (127.0.0.1:6379).
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 50); do port_open "$1" && return 0; sleep 0.2; done
  echo "services: nothing answers on 127.0.0.1:$1" >&2
  return 1
}

if ! port_open 5432; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  wait_port 5432
fi

if ! port_open 6379; then
  echo "services: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  wait_port 6379
fi
