#!/usr/bin/env bash
# tests/ctgrind.sh - make ctgrind: each primitive under valgrind with its secrets marked undefined; no branch or address may depend on them.
# Usage: BIN=build bash tests/ctgrind.sh   (make ctgrind does this; not under SAN=1, whose
# AddressSanitizer binaries valgrind cannot run)
# The method (tests/ctgrind.c): memcheck reports every conditional jump and every memory address
# that depends on an undefined value, and the secret inputs are marked undefined. The two
# negative controls are leaky on purpose and must be reported, or the method proves nothing.
. "$(dirname "$0")/lib.sh"
lib_setup
CT=$BIN/tests/ctgrind
REAL="x25519 x25519_public seal open chacha20 poly1305 sha256 hmac hkdf"

command -v valgrind >/dev/null 2>&1 || { echo "ctgrind: valgrind is not installed (make deps)"; exit 1; }
[ -x "$CT" ] || { echo "ctgrind: $CT is missing (make $CT)"; exit 1; }

# grind CHECK: runs one check under memcheck, its output in $WORK/CHECK.log; memcheck's status.
grind() {
	valgrind --error-exitcode=1 --track-origins=yes "$CT" "$1" >"$WORK/$1.log" 2>&1
}

# first_reports CHECK: memcheck's first reports in the log, with their stacks and origins.
first_reports() {
	grep -E -A14 '== (Conditional jump|Use of uninitialised|Syscall param|Invalid)' "$WORK/$1.log" |
		head -n 40 | sed 's/^/    /'
}

# constant_time CHECK: the check ran, compared its results, and memcheck reported nothing.
constant_time() {
	grind "$1" && grep -q 'ERROR SUMMARY: 0 errors' "$WORK/$1.log" && return 0
	first_reports "$1"
	grep -E '^ctgrind:' "$WORK/$1.log" | sed 's/^/    /'
	return 1
}

# reports CHECK: one line per report (error context) in the log: "what @ function (file:line)",
# the innermost frame, inlined functions named as such.
reports() {
	awk '/^==[0-9]+== [A-Z].*(uninitialised|Invalid|Syscall)/ {
		what = $0; sub(/^==[0-9]+== /, "", what)
		getline; sub(/^==[0-9]+== +at 0x[0-9A-Fa-f]+: /, "")
		print what " @ " $0
	}' "$WORK/$1.log"
}

# reported CHECK WHAT: the control failed under memcheck, with a report of the kind WHAT,
# naming the leaky function; its result shows that it ran to the end.
reported() {
	if grind "$1"; then
		echo "    memcheck did not report the deliberate leak in $1"
		return 1
	fi
	grep -q "$2" "$WORK/$1.log" && grep -q 'leaky_' "$WORK/$1.log" &&
		grep -q "^$1: " "$WORK/$1.log" && return 0
	echo "    $1 failed, but not with \"$2\" in leaky_*:"
	tail -n 20 "$WORK/$1.log" | sed 's/^/    /'
	return 1
}

echo "ctgrind: $(valgrind --version), $CT built with $(sed -n 's/^CFLAGS ?= //p' "$TOP/Makefile")"
check "control leak_branch: an early-exit tag compare is reported" \
	reported leak_branch 'Conditional jump or move depends on uninitialised value'
check "control leak_index: an S-box read at a secret index is reported" \
	reported leak_index 'Use of uninitialised value of size'
for c in $REAL; do
	check "$c: constant time in its secrets" constant_time "$c"
done
summary ctgrind
