#!/usr/bin/env bash
# tests/deps.sh - installs what `make check` needs when it is missing: a C compiler, make, libcheck, pkg-config, tmux.
# On Debian as root it runs apt-get; elsewhere it says what to install and fails.
set -u
missing=""
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
command -v make >/dev/null 2>&1 || missing="$missing make"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
pkg-config --exists check 2>/dev/null || missing="$missing check"
command -v tmux >/dev/null 2>&1 || missing="$missing tmux"
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
