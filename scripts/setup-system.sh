#!/bin/sh
# Install the Debian packages the project needs, only those that are missing.
# Idempotent; run as root (make setup runs it). Extra packages can be named as
# arguments (the real-guest stack adds its own).
set -eu

need=""
have_python_venv() { python3 -c 'import ensurepip, venv' >/dev/null 2>&1; }
have_python_headers() {
    python3 -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' >/dev/null 2>&1
}

command -v python3 >/dev/null 2>&1 || need="$need python3"
have_python_venv || need="$need python3-venv"
have_python_headers || need="$need python3-dev"
command -v gcc >/dev/null 2>&1 || need="$need gcc"
command -v make >/dev/null 2>&1 || need="$need make"

for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || need="$need $package"
done

if [ -n "$need" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "setup-system: missing Debian packages:$need (run as root, or install them)" >&2
        exit 1
    fi
    echo "setup-system: installing$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
