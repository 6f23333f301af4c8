#!/usr/bin/env bash
# Print the path of a Python >= 3.12 on this machine, or explain and exit 1.
#
# Each candidate is *run*: pyenv shims answer for versions that are not active
# and then fail, so a name on PATH proves nothing until it prints its version.
# $PYTHON, when set, is tried first.
set -u

MIN_MAJOR=3
MIN_MINOR=12

candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
for p in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python; do
    [ -x "$p" ] && candidates+=("$p")
done
for name in python3.13 python3.12 python3; do
    p=$(command -v "$name" 2>/dev/null) && candidates+=("$p")
done

tried=()
for p in "${candidates[@]}"; do
    if "$p" -c "import sys; sys.exit(0 if sys.version_info >= ($MIN_MAJOR, $MIN_MINOR) else 1)" \
        >/dev/null 2>&1; then
        echo "$p"
        exit 0
    fi
    tried+=("$p")
done

{
    echo "Rapport needs Python >= $MIN_MAJOR.$MIN_MINOR and none was found."
    if [ ${#tried[@]} -gt 0 ]; then
        echo "Tried (each failed to run or was too old):"
        printf '  %s\n' "${tried[@]}"
    fi
    echo "Install Python $MIN_MAJOR.$MIN_MINOR or newer (e.g. 'pyenv install 3.12'),"
    echo "or point PYTHON=/path/to/python3.12 at one and run make again."
} >&2
exit 1
