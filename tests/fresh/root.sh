# tests/fresh/root.sh - sourced by tests/fresh/run and tests/package/run:
# the cached minimal Debian 12 root.  Needs $cache, $mirror, $logs and
# $tarball set by the sourcing script.

# make_cache - debootstrap into a scratch directory, prepare the root like a
# freshly installed Debian 12, pack it; the checksum is written last, so a
# half-written tarball never passes for a good one
make_cache() {
	local b
	b=$(mktemp -d "$cache/build.XXXXXX") || return 1
	echo "   building the minimal Debian 12 root (debootstrap, once per machine)"
	# its own mount namespace: a debootstrap killed half-way leaves no
	# /proc or /sys mounted in the scratch root
	if ! timeout -k 10 900 unshare --mount --propagation private \
	    debootstrap --variant=minbase bookworm "$b/root" "$mirror" \
	    >"$logs/debootstrap.log" 2>&1; then
		tail -n 20 "$logs/debootstrap.log"
		rm -rf --one-file-system "$b"
		return 1
	fi
	# apt sources of an installed Debian 12 (debootstrap writes only the
	# release): updates and security too
	rm -f "$b/root/etc/apt/sources.list"
	cat >"$b/root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	# a chroot starts no services (nsd would bind the host's port 53);
	# Debian's own convention for chroots, read by invoke-rc.d
	printf '#!/bin/sh\n# no services in this chroot\nexit 101\n' >"$b/root/usr/sbin/policy-rc.d"
	chmod 755 "$b/root/usr/sbin/policy-rc.d"
	# no package lists and no .debs: scripts/deps must fetch the lists itself
	rm -rf "$b/root/var/lib/apt/lists" "$b/root/var/cache/apt/archives"
	mkdir -p "$b/root/var/lib/apt/lists/partial" "$b/root/var/cache/apt/archives/partial"
	tar --numeric-owner -C "$b/root" -czf "$b/root.tar.gz" . &&
	    (cd "$b" && sha256sum root.tar.gz | sed "s| root.tar.gz| $(basename "$tarball")|") \
		>"$b/root.sha256" &&
	    mv "$b/root.tar.gz" "$tarball" && mv "$b/root.sha256" "$tarball.sha256"
	local rc=$?
	rm -rf --one-file-system "$b"
	return $rc
}

# unpack_root DEST - DEST gets a pristine copy of the cached root, the cache
# (re)built first when missing or when its checksum does not match; output
# in $logs/root.log.  0 or non-zero.
unpack_root() {
	local dest=$1
	(
		# one cache builder at a time; readers wait for it
		flock -w 1200 9 || { echo "   cache lock not obtained"; exit 1; }
		if ! (cd "$cache" && sha256sum --status -c "$tarball.sha256") 2>/dev/null; then
			# and what a builder killed half-way left (none runs: the lock)
			rm -rf --one-file-system "$tarball" "$tarball.sha256" "$cache"/build.*
			make_cache || exit 1
		fi
		timeout 300 tar --numeric-owner -xzpf "$tarball" -C "$dest"
	) 9>"$cache/lock" >"$logs/root.log" 2>&1
}

# copy_tree DEST - the tree under test ($top), as a fresh clone would have
# it (and uncommitted changes); outside git, everything but build output
copy_tree() {
	local dest=$1
	mkdir -p "$dest"
	if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		    while IFS= read -r -d '' f; do
			# tracked but deleted in the work tree: not part of it
			[ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"
		    done | tar --null -T - -cf -) |
		    tar -xf - -C "$dest"
	else
		# no git (a release tarball): everything but build output and
		# what autoreconf makes, which the root must make itself
		tar -C "$top" --exclude='./build*' --exclude=./.git \
		    --exclude=./configure --exclude=./aclocal.m4 \
		    --exclude=./autom4te.cache --exclude=./build-aux \
		    --exclude=Makefile.in --exclude='./amconfig.h*' \
		    --exclude='./config.*' --exclude='./m4/*.m4' -cf - . |
		    tar -xf - -C "$dest"
	fi
}
