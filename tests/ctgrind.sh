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

# verdict_lines: the lines of chachapoly_open that act on the tag's verdict: those that test
# the variable ct_equal's result went into (if (ok), ok ? ... : ...).
verdict_lines() {
	local var
	var=$(awk '/^long chachapoly_open\(/, /^}/' "$TOP/chachapoly.c" |
		sed -n 's/.*[^a-z_]\([a-z_][a-z_0-9]*\) = ct_equal(.*/\1/p' | head -n 1)
	[ -n "$var" ] || return 0
	awk -v v="$var" '/^long chachapoly_open\(/ { f = 1 }
		f && ($0 ~ ("(if|while) \\(!?" v "\\)") || $0 ~ (v " \\?")) { print NR }
		f && /^}/ { f = 0 }' "$TOP/chachapoly.c"
}

# open_constant_time: chachapoly_open reports nothing but conditional jumps on its verdict.
# Acting on the verdict is allowed (an attacker learns it from whether an answer comes), and
# open cannot avoid it: it writes the plaintext only when the tag is right (chachapoly.h).
# Every other report, and any report elsewhere (inlined helpers are named in their own
# frames), fails the check; so does a log whose reports this cannot all read.
open_constant_time() {
	local lines contexts n bad=0 r line seen=""
	grind open && grep -q 'ERROR SUMMARY: 0 errors' "$WORK/open.log" && return 0
	grep -q '^ctgrind:' "$WORK/open.log" && { constant_time open; return 1; }
	lines=" $(verdict_lines | tr '\n' ' ')"
	contexts=$(sed -n 's/.*ERROR SUMMARY: [0-9]* errors from \([0-9]*\) contexts.*/\1/p' "$WORK/open.log")
	n=0
	while IFS= read -r r; do
		n=$((n + 1))
		line=$(printf '%s\n' "$r" | sed -n 's/.*@ chachapoly_open (chachapoly\.c:\([0-9]*\))$/\1/p')
		case "$r" in
		"Conditional jump or move depends on uninitialised value(s) @ "*)
			if [ -n "$line" ] && [ "${lines#* $line }" != "$lines" ]; then
				seen="$seen $line"
				continue
			fi ;;
		esac
		echo "    not on the verdict: $r"
		bad=1
	done < <(reports open)
	if [ "$bad" -ne 0 ] || [ "$n" -eq 0 ] || [ "$n" != "$contexts" ]; then
		[ "$bad" -ne 0 ] || echo "    $n reports read, memcheck counted ${contexts:-?} contexts"
		first_reports open
		return 1
	fi
	echo "    open: $n report(s), each a branch on the verdict (chachapoly.c line$seen), allowed"
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
	if [ "$c" = open ]; then
		check "open: constant time in its secrets (its verdict is public)" open_constant_time
	else
		check "$c: constant time in its secrets" constant_time "$c"
	fi
done
summary ctgrind
