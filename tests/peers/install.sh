#!/usr/bin/env bash
# Install what tests/peers needs: the vCenter simulator's build, the browser, Prometheus,
# Zabbix 6.0 (server + PHP frontend) and LibreOffice Calc (which opens exported workbooks)
# (root, Debian). Idempotent: does nothing, not even `apt-get update`, when everything is present.
# With arguments, installs only those packages (`make demo` needs the simulator's alone).
set -euo pipefail

packages=(
    golang-go golang-github-vmware-govmomi-dev chromium
    prometheus
    zabbix-server-pgsql zabbix-frontend-php php-cli php-pgsql php-cgi
    libreoffice-calc-nogui
)
if (($# > 0)); then
    packages=("$@")
fi

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -qx installed; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

echo "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
