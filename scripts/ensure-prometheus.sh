#!/usr/bin/env bash
# Makes sure `promtool` (and the `prometheus` server binary) are on PATH, from Debian's
# `prometheus` package. Idempotent: does nothing when promtool is already there.
# Debian's package starts a prometheus service on :9090 through its init script when installed
# outside a container; we run our own Prometheus for dashboard checks, so stop that one again.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
  echo "ensure-prometheus: promtool already installed ($(command -v promtool))"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "ensure-prometheus: promtool is missing and we are not root: install the Debian package 'prometheus'" >&2
    exit 1
  fi
else
  SUDO=
fi

export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when they do not know the package yet (a fresh machine).
if ! apt-cache show prometheus >/dev/null 2>&1; then
  echo "ensure-prometheus: apt-get update"
  $SUDO apt-get update -qq
fi

echo "ensure-prometheus: apt-get install prometheus"
# policy-rc.d exit 101 tells invoke-rc.d not to start services during this install.
policy=/usr/sbin/policy-rc.d
created_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  created_policy=1
fi
cleanup() { if [ -n "$created_policy" ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT

install() { $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
if ! install; then
  # Package lists older than the mirror name files that are gone: refresh once and retry.
  echo "ensure-prometheus: install failed, apt-get update and retry"
  $SUDO apt-get update -qq
  install
fi

# Belt and braces: if something still started the packaged server, stop it (by its pid file or
# the service tool), so :9090 stays free for the Prometheus our checks start themselves.
if command -v service >/dev/null 2>&1 && service prometheus status >/dev/null 2>&1; then
  echo "ensure-prometheus: stopping the prometheus service the package started"
  $SUDO service prometheus stop >/dev/null 2>&1 || true
fi

echo "ensure-prometheus: installed $(promtool --version 2>&1 | head -n 1)"
