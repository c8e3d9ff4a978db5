#!/usr/bin/env bash
# Makes sure kcat (the Kafka CLI client the tests use as an independent,
# non-Node client) is installed. Idempotent; Debian/apt only.
set -euo pipefail

if command -v kcat >/dev/null 2>&1; then
  echo "kcat: already installed ($(command -v kcat))"
  exit 0
fi

SUDO=
[[ $(id -u) -eq 0 ]] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

# Try without 'apt-get update' first: it is slow and usually not needed when the
# package lists are already there. Only refresh them if the install fails.
if $SUDO apt-get install -y -q kcat >/tmp/ensure-kcat.log 2>&1; then
  echo "kcat: installed with apt-get"
else
  echo "kcat: install failed (package lists missing or stale?); running apt-get update"
  $SUDO apt-get update -q >>/tmp/ensure-kcat.log 2>&1
  if ! $SUDO apt-get install -y -q kcat >>/tmp/ensure-kcat.log 2>&1; then
    tail -n 20 /tmp/ensure-kcat.log >&2
    echo "kcat: apt-get install kcat failed" >&2
    exit 1
  fi
  echo "kcat: installed with apt-get (after apt-get update)"
fi
echo "kcat: $(kcat -V 2>&1 | grep -m1 -i version)"
