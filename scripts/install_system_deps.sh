#!/usr/bin/env bash
# System packages the test suite needs, from Debian's archive: Chromium (headless rendering
# of the report e-mail).  Idempotent: checks first, installs only what is missing, never
# prompts, prints what it did.  The report charts' CJK font is vendored (include/fonts/),
# so `make run` needs nothing from here.
#
#   scripts/install_system_deps.sh            install what is missing (root, or sudo without a password)
#   scripts/install_system_deps.sh --check    only report; exit 1 if something is missing
#   LISTENING_SKIP_SYSTEM_DEPS=1 ...          do nothing (machines managed another way)
set -euo pipefail

if [ "${LISTENING_SKIP_SYSTEM_DEPS:-}" = "1" ]; then
    echo "system deps: skipped (LISTENING_SKIP_SYSTEM_DEPS=1)"
    exit 0
fi

missing=()
have_chromium() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }
have_chromium || missing+=(chromium)

if [ ${#missing[@]} -eq 0 ]; then
    echo "system deps: all present ($( (chromium --version || chromium-browser --version) 2>/dev/null | head -1))"
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    echo "system deps: missing ${missing[*]}"
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "system deps: missing ${missing[*]} and there is no apt-get here: install them with your package manager" >&2
    exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        echo "system deps: missing ${missing[*]}; run as root (or with passwordless sudo):" >&2
        echo "    apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
echo "system deps: installing ${missing[*]} with apt-get ..."
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
have_chromium || { echo "system deps: chromium still missing after apt-get install" >&2; exit 1; }
echo "system deps: installed ${missing[*]} ($( (chromium --version || chromium-browser --version) 2>/dev/null | head -1))"
