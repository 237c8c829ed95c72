#!/usr/bin/env bash
# Runs every Go fuzz target of the parsers of outside input for a bounded
# time each and fails if any of them crashes (a failing input is written to
# the target's testdata/fuzz/<Target>/ directory: fix the code, keep the
# file, and it runs as a regression seed in every `go test`).
#
# Usage: scripts/fuzz.sh [-t DURATION] [TARGET...]
#   -t DURATION   time per target (default: $FUZZTIME, else 20s), e.g. 5m
#   TARGET...     only these targets (default: all), e.g. FuzzParse
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-20s}"
while getopts "t:h" opt; do
  case $opt in
    t) fuzztime=$OPTARG ;;
    *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

# package and target, one a line
targets="
./host/cmd/batchhost FuzzReadBatch
./host FuzzJobSpec
./host/control FuzzRequestConversion
./host/internal/cronspec FuzzParse
./host/internal/store FuzzRecordCodec
./plugins/docs FuzzExtractHTML
./plugins/docs FuzzExtractCSV
./plugins/docs FuzzExtractJSON
./plugins/docs FuzzExtractDOCX
./plugins/docs FuzzExtractODT
./plugins/docs FuzzExtractPDF
"

known=$(awk 'NF {print $2}' <<<"$targets")
for want in "$@"; do
  grep -qx -- "$want" <<<"$known" || { echo "fuzz.sh: unknown target $want; known: $(tr '\n' ' ' <<<"$known")" >&2; exit 2; }
done

log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=()
summary=()
start=$SECONDS
while read -r pkg name; do
  [ -n "$pkg" ] || continue
  if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx -- "$name"; then
    continue
  fi
  echo "fuzz.sh: $name in $pkg for $fuzztime"
  # A new input that widens coverage is minimized before fuzzing goes on,
  # and the executions that takes are not counted. Bounded in time (the
  # default 60 s, or 5 s) it took most of a short run on the document
  # extractors: 55 to 4,630 counted executions and 6 or 7 new inputs in
  # 20 s. Bounded at 100 executions: 15,000 to 19,000 and 47 to 92. A
  # crash's input is still written, minimized as far as 100 tries go.
  corpus="${pkg#./}/testdata/fuzz/$name"
  inputs_before=$({ ls "$corpus" 2>/dev/null || true; } | wc -l)
  if go test -run "^${name}\$" -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime 100x "$pkg" >"$log" 2>&1; then
    status=ok
  elif [ "$({ ls "$corpus" 2>/dev/null || true; } | wc -l)" -eq "$inputs_before" ] && grep -q '^    context deadline exceeded$' "$log" &&
    [ "$(grep -c '^--- FAIL' "$log")" -eq 1 ]; then
    # Go 1.26's fuzz coordinator can report its own -fuzztime deadline as
    # a failure when a worker is mid-input as it expires (Go issue 75804,
    # fixed in Go 1.27), more often on a loaded machine. No input failed
    # and none was written: the run ended when it was due to.
    status="ok (the toolchain reported its own deadline as a failure; no failing input)"
  else
    status=FAILED
    failed+=("$name")
  fi
  grep -v '^fuzz: elapsed' "$log" || true
  last=$(grep '^fuzz: elapsed' "$log" | tail -1 || true)
  summary+=("$status $name: ${last#fuzz: }")
done <<<"$targets"

echo
echo "fuzz.sh: ${#summary[@]} targets in $((SECONDS - start)) s"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]} (failing inputs are under the packages' testdata/fuzz/)" >&2
  exit 1
fi
