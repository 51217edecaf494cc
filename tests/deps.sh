#!/usr/bin/env bash
# tests/deps.sh - installs what `make check` needs when it is missing: compilers, libcheck, and the tools the suites drive.
# On Debian as root it runs apt-get; elsewhere it says what to install and fails.
set -u
missing=""
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
command -v make >/dev/null 2>&1 || missing="$missing make"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
pkg-config --exists check 2>/dev/null || missing="$missing check"
command -v tmux >/dev/null 2>&1 || missing="$missing tmux"
# The man pages' checks in tests/integration.sh: groff renders them and reports warnings.
command -v groff >/dev/null 2>&1 || missing="$missing groff-base"
# The NAT lab (tests/natlab.sh), which make check runs only as root: namespaces, NATs, their state,
# ping.
if [ "$(id -u)" -eq 0 ]; then
	command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
	command -v iptables >/dev/null 2>&1 || missing="$missing iptables"
	command -v conntrack >/dev/null 2>&1 || missing="$missing conntrack"
	command -v ping >/dev/null 2>&1 || missing="$missing iputils-ping"
	# The lab's address-dependent NAT (nat_adm) is made with nft.
	command -v nft >/dev/null 2>&1 || missing="$missing nftables"
	# The lab's port forwarding: a real browser (headless Chromium) opens a forwarded page (the
	# goodput against plain TCP is tests/tcpcopy.py's, in python3).
	command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
fi
# The real STUN clients that tests/stun-interop.sh runs against p2pchatd.
command -v turnutils_stunclient >/dev/null 2>&1 || missing="$missing coturn"
command -v stun >/dev/null 2>&1 || missing="$missing stun-client"
# The crypto proofs: libsodium as the independent implementation (tests only, never linked into
# the programs), the published vector files, and valgrind for the constant-time check.
pkg-config --exists libsodium 2>/dev/null || missing="$missing libsodium-dev"
[ -d /usr/lib/python3/dist-packages/cryptography_vectors ] || missing="$missing python3-cryptography-vectors"
# tests/noise_ref.py, the independent reference of the session handshake: Debian's python3 and its
# python3-cryptography (called as /usr/bin/python3, whatever python3 comes first on PATH).
/usr/bin/python3 -c 'import cryptography' >/dev/null 2>&1 || missing="$missing python3-cryptography"
command -v valgrind >/dev/null 2>&1 && [ -f /usr/include/valgrind/memcheck.h ] || missing="$missing valgrind"
# make fuzz: clang, and libFuzzer's runtime, which Debian ships apart (libclang-rt-dev).
command -v clang >/dev/null 2>&1 || missing="$missing clang"
echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return (void)d, (void)n, 0; }' |
	clang -fsanitize=fuzzer -x c -o /dev/null - >/dev/null 2>&1 || missing="$missing libclang-rt-dev"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null || {
		echo "deps: apt-get install$missing failed" >&2
		exit 1
	}
else
	echo "deps: missing$missing; install them (Debian: sudo apt-get install$missing)" >&2
	exit 1
fi
