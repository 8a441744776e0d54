# tests/fresh/lib.sh - sourced by tests/fresh/inside and tests/package/inside:
# commands in the root with a clean environment, and the OPTNEG probe of
# the milter on 127.0.0.1:$PORT; the stages (pass, fail, finish, stage: globals
# R, logs, passed, failed; stage --net runs "$0" --netns ROOT COMMAND,
# which the sourcing script handles).

# in_root ROOT COMMAND - COMMAND (bash) as root in ROOT's /src/authmilter,
# with a clean environment: nothing of the host's (AUTHMILTER, ASAN_OPTIONS,
# a PATH with /usr/local tools) leaks in, but a proxy apt may need
in_root() {
	(exec_root "$@")
}

# exec_root ROOT COMMAND - the same, in place of this shell (run in the
# background, its PID is the program's: scripts/run execs the daemon)
exec_root() {
	local r=$1
	shift
	local v keep=()
	for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
		[ -n "${!v:-}" ] && keep+=("$v=${!v}")
	done
	exec chroot "$r" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
	    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    "${keep[@]}" /bin/bash -c "cd /src/authmilter && $*"
}

# optneg - 0 when the milter on 127.0.0.1:PORT answers an OPTNEG offering
# version 6, every action and every protocol step (as Postfix does) with an
# OPTNEG of version 6: 4 bytes length (at least 13), 'O', version
optneg() {
	local hex len
	{ exec 3<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null || return 1
	printf '\x00\x00\x00\x0dO\x00\x00\x00\x06\x00\x00\x01\xff\x00\x1f\xff\xff' >&3
	hex=$(timeout 5 od -An -v -tx1 -N9 <&3 | tr -d ' \n')
	exec 3<&-
	echo "OPTNEG reply: ${hex:-none}"
	[ ${#hex} -eq 18 ] || return 1
	len=$((16#${hex:0:8}))
	[ "$len" -ge 13 ] && [ "${hex:8:10}" = 4f00000006 ]
}


pass() {
	passed=$((passed + 1))
	echo "PASS $1"
}

# fail NAME LOG - one failed stage, with the end of its log
fail() {
	failed=$((failed + 1))
	echo "FAIL $1"
	[ -f "$2" ] && tail -n 30 "$2" | sed 's/^/   /'
}

finish() {
	echo "$passed passed, $failed failed"
	exit 0
}

# stage NAME SECONDS [--net] COMMAND - COMMAND in the root under a time
# limit, its output in LOGDIR/NAME.log; --net: in the isolated network
stage() {
	local name=$1 secs=$2 t0=$SECONDS rc log
	shift 2
	log="$logs/${name// /-}.log"
	if [ "$1" = --net ]; then
		shift
		timeout -k 10 "$secs" unshare --net "$0" --netns "$R" "$@" >"$log" 2>&1
	else
		timeout -k 10 "$secs" bash -c "$(declare -f in_root exec_root); in_root \"\$@\"" \
		    in_root "$R" "$@" >"$log" 2>&1
	fi
	rc=$?
	[ $rc -eq 124 ] || [ $rc -eq 137 ] && echo "   (time limit of $secs s reached)" >>"$log"
	if [ $rc -eq 0 ]; then
		pass "$name ($((SECONDS - t0)) s)"
	else
		fail "$name (exit $rc, $((SECONDS - t0)) s)" "$log"
	fi
	return $rc
}

# the root is made a mount point of its own, as / is on a real machine
# (unshare -m refuses to change the propagation of a / that is not one);
# /proc of this PID namespace; the host's /sys and /dev; a private /run,
# /dev/shm; DEBS as apt's archive, so .debs are downloaded once per machine
# (which packages to install is still scripts/deps's decision).  Not the
# host's own archive: apt locks it, and the host's apt (or a docker-clean
# hook) must not be able to make this tier fail or lose its cache.
# (globals R and debs)
root_mounts() {
	mount --bind "$R" "$R" &&
	    mount -t proc proc "$R/proc" &&
	    mount --rbind /sys "$R/sys" &&
	    mount --rbind /dev "$R/dev" &&
	    mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm" &&
	    mount -t tmpfs -o mode=755 tmpfs "$R/run" &&
	    mkdir -p "$R/run/lock" "$debs/partial" &&
	    mount --bind "$debs" "$R/var/cache/apt/archives" &&
	    cp /etc/resolv.conf "$R/etc/resolv.conf"
}
