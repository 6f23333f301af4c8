#!/usr/bin/env bash
# Make .venv usable: a Python >= 3.12 with the locked dependencies and Rapport
# installed in editable mode. Cheap when nothing changed, so every make target
# may call it.
#
# - .venv is (re)created when missing, broken or on a Python older than 3.12.
# - The lock is installed only when requirements.lock, pyproject.toml or the
#   venv's Python changed since the last install: their hash is kept in a stamp
#   file inside .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
STAMP="$VENV/.rapport-install-stamp"

venv_ok() {
    "$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' \
        >/dev/null 2>&1
}

if ! venv_ok; then
    python=$(scripts/find-python.sh)
    if [ -e "$VENV" ]; then
        echo "• $VENV is missing a working Python >= 3.12: recreating it"
        rm -rf "$VENV"
    fi
    echo "• creating $VENV with $python ($("$python" -c 'import sys; print(sys.version.split()[0])'))"
    "$python" -m venv "$VENV"
fi

want=$( { cat requirements.lock pyproject.toml; "$VENV/bin/python" -VV; } | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi

echo "• installing locked dependencies into $VENV (requirements.lock changed or first run)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$SECONDS
if ! {
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        --require-hashes --no-deps -r requirements.lock &&
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        --no-deps -e .
} >"$log" 2>&1; then
    cat "$log" >&2
    echo "✗ dependency installation failed (see above)" >&2
    exit 1
fi
echo "$want" >"$STAMP"
echo "• dependencies installed in $((SECONDS - start))s"
