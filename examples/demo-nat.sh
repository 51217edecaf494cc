#!/usr/bin/env bash
# examples/demo-nat.sh - every NAT topology of the lab once, then a table of what each pair got.
# Run it as root with `make demo-nat`. It builds small internets out of network namespaces
# (tests/natlab.sh draws them), with real Linux NATs, and removes them when it ends.
set -u
BIN=${BIN:-build}
. "$(dirname "$0")/../tests/natlab.sh"   # the lab_* functions; sourcing it runs no test
if ! lab_init; then
	echo "demo-nat: the lab needs root (network namespaces, iptables): sudo make demo-nat" >&2
	exit 1
fi
lab_preflight || { echo "demo-nat: the lab cannot be built here (see above)" >&2; exit 1; }

LINES_EACH_WAY=10
NL_CONNECT_WAIT=8   # a pair not connected by then has no path
ROWS=()
ROW_FORMAT='%-34s %-10s %-10s %-15s %-7s %s\n'

# ms_as_s MS: "0.63 s".
ms_as_s() {
	printf '%d.%02d s' $(($1 / 1000)) $(($1 % 1000 / 10))
}

# events NAME: the event lines NAME's client printed, a line repeated shown once with its count.
events() {
	grep '^\*' "$NL_DIR/$1.out" | uniq -c | sed "s/^ *1 \(.*\)/\1/" |
		sed "s/^ *\([0-9][0-9]*\) \(.*\)/\2 (x\1)/" | sed "s/^/  $(printf '%-5s' "$1") | /"
}

# demo_row TOPOLOGY LABEL NAT_A NAT_B [DELAY_MS LOSS]: builds the lab for TOPOLOGY, lets alice
# call bob, sends lines both ways, shows what the clients said, and adds a row to the table.
demo_row() {
	local topo=$1 label=$2 path connect
	printf '\n== %s\n' "$label"
	lab_start && lab_topology "$topo" && lab_delay "${5:-0}" "${6:-0}" ||
		{ echo "demo-nat: cannot build the lab" >&2; exit 1; }
	if lab_pair alice "$NL_HOST_A" bob "$NL_HOST_B" -w 5 2>/dev/null; then
		path=${NL_PATH_A##* }
		[ "${NL_PATH_B##* }" = "$path" ] || path="$path/${NL_PATH_B##* }"
		connect=$(ms_as_s "$NL_CONNECT_MS")
	else
		path=none connect=-
	fi
	lab_exchange alice bob "$LINES_EACH_WAY" demo 15 2>/dev/null
	events alice
	events bob
	echo "  alice received $(count "$NL_DIR/alice.out" '^<bob> demo ') lines," \
	     "bob $(count "$NL_DIR/bob.out" '^<alice> demo ') lines"
	ROWS+=("$(printf "$ROW_FORMAT" "$label" "$3" "$4" "$path" "$connect" \
		"$NL_DELIVERED/$((2 * LINES_EACH_WAY))")")
	lab_teardown
}

echo "Each row: a fresh lab, p2pchatd on 203.0.113.10, bob starts, then alice asks for bob;"
echo "then each sends the other $LINES_EACH_WAY lines."
demo_row cone-cone "cone NAT - cone NAT" cone cone
demo_row same-nat "one NAT, one LAN (no hairpin)" cone "(same)"
demo_row public-cone "cone NAT - public host" cone none
demo_row symmetric-cone "symmetric NAT - cone NAT" symmetric cone
demo_row symmetric-symmetric "symmetric NAT - symmetric NAT" symmetric symmetric
demo_row cone-cone "cone - cone, 25 ms a link, 5% loss" cone cone 25 0.05

echo
printf "$ROW_FORMAT" topology "alice's" "bob's" path connect delivered
printf "$ROW_FORMAT" "" NAT NAT "" "" ""
printf '%s\n' "${ROWS[@]}"
cat <<'EOF'

path: what "* connected to PEER via ADDR (PATH)" said (alice/bob when they differ; none: no
connection). connect: from alice's start to her "connected" line (registration, lookup,
punching). delivered: lines that arrived, of those sent both ways.
EOF
