#!/usr/bin/env bash
# `make test`: every gate in order, then one summary of what ran and what was
# left out. Under CI=true a stage that was left out is a failure, so CI can
# never go green without PostgreSQL or the browser tests.
#
# Stages: ruff → makemigrations --check → rapport check → hygiene (check --deploy,
# bandit) → pytest on SQLite → pytest on
# PostgreSQL (when reachable) → browser tests (when /usr/bin/chromium exists).
# pytest's exit code 5 ("no tests collected") counts as a failure.
set -uo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PY="$VENV/bin/python"
CHROMIUM=${RAPPORT_CHROMIUM:-/usr/bin/chromium}
export TEST_PG_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/rapport_test}
unset TEST_DATABASE_URL  # only the PostgreSQL stage sets it
export DJANGO_SETTINGS_MODULE=rapport.settings.test
CI=${CI:-false}
PYTEST_ARGS=${PYTEST_ARGS:-}

logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
rows=()      # "stage|result|seconds|detail"
failed=0

record() { rows+=("$1|$2|$3|$4"); }

# run_stage NAME COMMAND... : run quietly; show the output only on failure.
run_stage() {
    local name=$1; shift
    local start=$SECONDS log="$logdir/$name.log"
    printf '▶ %s\n' "$name"
    if "$@" >"$log" 2>&1; then
        record "$name" ok $((SECONDS - start)) ""
    else
        cat "$log"
        record "$name" FAILED $((SECONDS - start)) ""
        failed=1
    fi
}

# run_pytest NAME ARGS... : stream pytest output, keep its summary line.
run_pytest() {
    local name=$1; shift
    local start=$SECONDS log="$logdir/$name.log" rc
    printf '▶ %s\n' "$name"
    # shellcheck disable=SC2086
    "$PY" -m pytest -q -rfEs $PYTEST_ARGS "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    local summary
    summary=$(grep -E '(passed|failed|errors?|skipped|deselected|no tests ran).* in [0-9.]+s' "$log" \
        | tail -1 | sed -E 's/^=+ //; s/ =+$//')
    [ -z "$summary" ] && summary=$(tail -1 "$log")
    case $rc in
        0) record "$name" ok $((SECONDS - start)) "$summary" ;;
        5) record "$name" FAILED $((SECONDS - start)) "no tests collected"; failed=1 ;;
        *) record "$name" FAILED $((SECONDS - start)) "$summary (exit $rc)"; failed=1 ;;
    esac
}

skip() {
    record "$1" "LEFT OUT" 0 "$2"
    [ "$CI" = "true" ] && failed=1
}

run_stage "ruff" "$VENV/bin/ruff" check --quiet .
run_stage "migrations" "$PY" manage.py makemigrations --check --dry-run --verbosity 1

# `rapport check` on a freshly migrated embedded install must report no problem.
rapport_check() {
    local dir rc
    dir=$(mktemp -d)
    env -u DJANGO_SETTINGS_MODULE RAPPORT_DATA_DIR="$dir" RAPPORT_SETTINGS=demo \
        "$VENV/bin/rapport" migrate --noinput --verbosity 0 &&
        env -u DJANGO_SETTINGS_MODULE RAPPORT_DATA_DIR="$dir" RAPPORT_SETTINGS=demo \
            "$VENV/bin/rapport" check
    rc=$?
    rm -rf "$dir"
    return $rc
}
run_stage "rapport-check" rapport_check

# check --deploy with production settings and bandit (scripts/hygiene.sh, decision 0025).
run_stage "hygiene" scripts/hygiene.sh
# pip-audit cannot reach its database here and would report nothing: never shown as passed.
record "pip-audit" "not run" 0 "no vulnerability database reachable; not a gate (decision 0025)"

run_pytest "pytest-sqlite" -m "not browser"

if "$PY" - "$TEST_PG_URL" >/dev/null 2>&1 <<'PYEOF'
import sys, psycopg
# Reach the server through its maintenance database: pytest-django creates the test one.
psycopg.connect(sys.argv[1], dbname="postgres", connect_timeout=3).close()
PYEOF
then
    TEST_DATABASE_URL=$TEST_PG_URL run_pytest "pytest-postgres" -m "not browser"
else
    shown=$(sed -E 's#(//[^:/@]+):[^@]*@#\1:***@#; s#\?.*##' <<<"$TEST_PG_URL")  # no passwords in logs
    echo "▶ pytest-postgres: PostgreSQL not reachable at $shown"
    skip "pytest-postgres" "PostgreSQL not reachable at $shown"
fi

if [ -x "$CHROMIUM" ]; then
    run_pytest "browser" -m browser
else
    echo "▶ browser: $CHROMIUM not found"
    skip "browser" "$CHROMIUM not found (apt-get install -y chromium)"
fi

# The benchmark suite at size S on SQLite, as a smoke test: every operation must run and
# agree with its raw-SQL floor. Times are printed, never judged (bench/runner.py).
run_stage "bench-smoke" "$PY" -m bench --size S --engine sqlite --smoke

echo
echo "Summary (CI=$CI)"
for row in "${rows[@]}"; do
    IFS='|' read -r name result secs detail <<<"$row"
    printf '  %-16s %-9s %4ss  %s\n' "$name" "$result" "$secs" "$detail"
done
left_out=false
printf '%s\n' "${rows[@]}" | grep -q '|LEFT OUT|' && left_out=true
if [ "$failed" -ne 0 ]; then
    if [ "$CI" = "true" ] && $left_out; then
        echo "✗ make test failed (under CI=true a stage left out is a failure)"
    else
        echo "✗ make test failed"
    fi
    exit 1
fi
if $left_out; then
    echo "✓ passed, but some stages were left out (they would fail under CI=true)"
else
    echo "✓ all stages passed"
fi
