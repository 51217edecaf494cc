#!/usr/bin/env bash
# tests/fuzz/run.sh - runs each libFuzzer target for a bounded time from the committed seed corpus.
# Usage: bash tests/fuzz/run.sh SECONDS BUILD_DIR TARGET...   (make fuzz does this)
# Each target starts from a copy of tests/fuzz/corpus/TARGET, so a run never changes the
# repository. A crash is saved as BUILD_DIR/crashes/TARGET-crash-...; replay it with
# BUILD_DIR/fuzz_TARGET FILE, then make it a unit test (tests/test_regress.c).
set -u
[ $# -ge 3 ] || { echo "usage: run.sh SECONDS BUILD_DIR TARGET..." >&2; exit 2; }
seconds=$1
build=$2
shift 2
TOP=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
trap 'exit 1' INT TERM
mkdir -p "$build/crashes"
passed=0
failed=0
total=0

for target in "$@"; do
	corpus=$WORK/$target
	mkdir -p "$corpus"
	if ! cp "$TOP/tests/fuzz/corpus/$target/"* "$corpus/"; then
		echo "FAIL fuzz_$target: no seeds in tests/fuzz/corpus/$target (make fuzz-seeds)"
		failed=$((failed + 1))
		continue
	fi
	seeds=$(ls "$corpus" | wc -l)
	# -max_len: room for oversize datagrams (and several in one server or client record series);
	# -timeout: an input that takes 10 s is a hang, reported as a failure.
	"$build/fuzz_$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$build/crashes/$target-" \
		"$corpus" >"$WORK/$target.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/$target.log")
	inputs=$(ls "$corpus" | wc -l)
	if [ "$rc" -eq 0 ] && [ -n "$execs" ]; then
		echo "ok   fuzz_$target: $execs executions in ${seconds} s, corpus $seeds -> $inputs inputs"
		passed=$((passed + 1))
		total=$((total + execs))
	else
		echo "FAIL fuzz_$target (status $rc${execs:+, after $execs executions})"
		grep -E 'ERROR|property failed|runtime error|SUMMARY|Test unit written' \
			"$WORK/$target.log" | head -n 10 | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done

echo "fuzz: $total executions in all"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
