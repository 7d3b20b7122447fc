#!/usr/bin/env bash
# Debian packages the tests use: PostgreSQL (the production audit profile), Chromium (the Temporal UI test) and
# OpenLDAP (the LDAP connector's real directory).
# Installed only when missing, and only where apt-get can run as root; otherwise says what to install.
set -euo pipefail
need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)
# OpenLDAP's slapd and its tools (the LDAP / Active Directory connector's tests run a real directory).
[ -x /usr/sbin/slapd ] || need+=(slapd)
command -v ldapadd >/dev/null 2>&1 || need+=(ldap-utils)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "tenure: installing ${need[*]} from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
else
  echo "tenure: the tests need these Debian packages: ${need[*]} (sudo apt-get install -y ${need[*]})" >&2
  exit 1
fi
