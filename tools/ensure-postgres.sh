#!/usr/bin/env bash
# make test needs a PostgreSQL server binary (Debian's postgresql package) to start a
# throwaway cluster. Install it when it is missing and we are allowed to (root on Debian).
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's postgresql package for the database tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql >/dev/null
  # The package starts a system cluster on 5432; the tests start their own, so stop it.
  (service postgresql stop || pg_ctlcluster --force 15 main stop) >/dev/null 2>&1 || true
  exit 0
fi
echo "PostgreSQL server binaries (initdb, pg_ctl) are missing: install Debian's postgresql package" >&2
exit 1
