#!/usr/bin/env bash
# The nightly run of a bench's boards, for any CI system (GitHub Actions: ci/nightly.yml).
#
#   ci/nightly.sh BENCH_FILE [--board NAME] [--out DIR] [-- PYTEST_OPTIONS...]
#   ci/nightly.sh BENCH_FILE --matrix      # the boards as JSON, for a CI matrix
#   --no-setup                             # the set-up already ran (a step of its own)
#
# Sets up what is missing (scripts/dev.sh setup), checks the bench file (`hil boards`),
# then runs the scenario tests on each board of the bench (only NAME with --board).
# Per board it leaves in DIR/NAME/ (DIR default: hil-nightly): runs/ (a folder per run,
# every failed one kept, and the session's hil-summary.md) and junit.xml.
#
# Exit code: pytest's (0 all passed, 1 tests failed, 5 no test ran: a failure too, ...),
# the first non-zero one over the boards; 2 when the bench file or an option is wrong.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage="usage: ci/nightly.sh BENCH_FILE [--board NAME] [--out DIR] [--matrix] [--no-setup] [-- PYTEST_OPTIONS...]"
die() { printf 'ci/nightly.sh: %s\n' "$*" >&2; exit 2; }

[ $# -ge 1 ] || die "$usage"
bench="$1"
shift
[ -f "$bench" ] || die "bench file $bench does not exist (fix: name the bench file of this runner)"
bench="$(cd "$(dirname "$bench")" && pwd)/$(basename "$bench")"
board="" out="hil-nightly" matrix=0 setup=1
while [ $# -gt 0 ]; do
  case "$1" in
    --board) [ $# -ge 2 ] || die "--board needs a name"; board="$2"; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a folder"; out="$2"; shift 2 ;;
    --matrix) matrix=1; shift ;;
    --no-setup) setup=0; shift ;;
    --) shift; break ;;
    *) die "unknown option $1 ($usage)" ;;
  esac
done
mkdir -p "$out" || die "cannot create $out"
out="$(cd "$out" && pwd)"

cd "$here"
if [ $setup -eq 1 ]; then
  scripts/dev.sh setup || exit $?
fi
hil="$here/.venv/bin/hil"
[ -x "$hil" ] || die "no .venv here (fix: run without --no-setup, or scripts/dev.sh setup)"

# The bench file is read once by the harness itself: a mistake stops here, named.
listing="$("$hil" boards --bench "$bench" --json)" || exit $?
boards="$(printf '%s\n' "$listing" | "$here/.venv/bin/python" -c '
import json, sys
for line in sys.stdin:
    row = json.loads(line)
    if "bench_board" in row and "chip" in row:
        print(row["bench_board"], row["chip"])
')" || exit 2
[ -n "$boards" ] || die "$bench lists no [[board]] (fix: add the boards of this bench)"

if [ $matrix -eq 1 ]; then
  printf '%s\n' "$boards" | "$here/.venv/bin/python" -c '
import json, sys
print(json.dumps([dict(zip(("name", "chip"), line.split())) for line in sys.stdin]))'
  exit 0
fi
if [ -n "$board" ]; then
  chosen="$(printf '%s\n' "$boards" | awk -v b="$board" '$1 == b')"
  [ -n "$chosen" ] \
    || die "bench file $bench has no board $board (it has: $(printf '%s\n' "$boards" | cut -d' ' -f1 | tr '\n' ' '))"
  boards="$chosen"
fi

worst=0
while read -r name chip; do
  dir="$out/$name"
  mkdir -p "$dir"
  printf '[nightly] board %s (%s) of %s: results in %s\n' "$name" "$chip" "$bench" "$dir" >&2
  # The bench and board go in as ini keys (-o): the pytest plugin reads them like
  # --hil-bench/--hil-board, and HIL_BENCH names the bench for every other reader.
  HIL_BENCH="$bench" "$here/.venv/bin/python" -m pytest tests/scenarios -m scenario -ra \
    -o "hil_bench=$bench" -o "hil_board=$name" \
    --junitxml="$dir/junit.xml" --hil-runs-dir="$dir/runs" "$@" </dev/null
  rc=$?
  printf '[nightly] board %s: pytest exit code %d\n' "$name" "$rc" >&2
  [ $worst -eq 0 ] && worst=$rc
done <<< "$boards"
exit $worst
