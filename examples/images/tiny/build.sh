#!/usr/bin/env bash
# build.sh: build the insitu "tiny" guest image into this directory from
# Debian packages alone, without root:
#
#   vmlinux        by default built from Debian's linux-source package
#                  (INSITU_TINY_KERNEL=source), with `make tinyconfig`
#                  plus kernel.config: everything the guest needs built
#                  in, nothing else, so a boot under emulation initialises
#                  little, loads no modules and costs about half the CPU.
#                  A build costs about 17 CPU minutes (make -j$(nproc));
#                  the result is cached per source version and
#                  kernel.config under ~/.cache/insitu/tiny-kernel
#                  (source_kernel), so other checkouts reuse it.
#                  INSITU_TINY_KERNEL=cloud, and a machine without the
#                  build tools (make gcc flex bison bc libelf-dev), take
#                  Debian's cloud kernel instead (the package
#                  linux-image-cloud-amd64 depends on; apt-get download,
#                  dpkg-deb -x, never installed): the ELF inside its
#                  bzImage (LZ4, unpacked with lz4), its drivers as modules.
#                  QEMU boots either ELF through its PVH entry note.
#   initrd.img     uncompressed newc cpio (nothing to decompress under
#                  emulation): busybox-static, /init (guest/init), which
#                  switch_roots into /dev/vda, and with the cloud kernel
#                  the virtio/evdev/button modules
#   root.img       raw 64 MiB ext4 (mkfs.ext4 -d): busybox, dropbear and its
#                  shared libraries, the boot scripts under guest/
#   manifest.json  {"name","kernel","initrd","root","cmdline"}
#
# Idempotent: a stamp over the kernel's name and every input's checksum
# makes a second run a no-op. When a tool is missing, or apt cannot fetch
# the kernel, it prints one line and exits 0 without building (so `make
# test` works on a machine with only Go; the instance tests then skip);
# under INSITU_REQUIRE_TOOLS=1 (CI) a failed kernel fetch exits 1.
# Outputs are replaced atomically (rename), so readers never see half a file.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
export LC_ALL=C

case "$0" in */*) here=${0%/*} ;; *) here=. ;; esac
here=$(cd "$here" && pwd)
build="$here/build"
# Drivers the guest needs; their dependencies are added from the modules'
# own depends= fields.
modules=(virtio_mmio virtio_pci virtio_blk virtio_net evdev button)
# kind: source (a kernel built from linux-source with kernel.config) or
# cloud (Debian's cloud kernel and its modules).
# source is the default: on a quiet machine it reached port 80 in about
# 2 s one at a time and 5.6 s four at once, against 3.9-5.0 s and
# 8.2-9.5 s for the cloud kernel (BENCHMARKS.md, Instances).
kind=${INSITU_TINY_KERNEL:-source}
cmdline="quiet root=/dev/vda rw cryptomgr.notests"
size=64M

missing=()
for t in apt-get apt-cache dpkg-deb cpio lz4 mkfs.ext4 busybox dropbear dropbearkey ldd sha256sum; do
	command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
if command -v busybox >/dev/null 2>&1 && ldd "$(command -v busybox)" >/dev/null 2>&1; then
	missing+=("busybox-static (this busybox is dynamically linked)")
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "images: not building examples/images/tiny: missing ${missing[*]} (apt-get install busybox-static dropbear-bin e2fsprogs cpio lz4; .ci/run does)"
	exit 0
fi
if [ "$kind" = source ]; then
	for t in make gcc flex bison bc xz; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	[ -e /usr/include/gelf.h ] || missing+=("libelf-dev")
	if [ ${#missing[@]} -gt 0 ]; then
		echo "images: building the guest kernel needs ${missing[*]} (apt-get install make gcc flex bison bc xz-utils libelf-dev; .ci/run does); using Debian's cloud kernel"
		kind=cloud
	fi
fi

# skip MESSAGE: give up on the image: exit 0, or 1 under
# INSITU_REQUIRE_TOOLS=1.
skip() {
	echo "images: not building examples/images/tiny: $1"
	[ "${INSITU_REQUIRE_TOOLS:-}" = 1 ] && exit 1
	exit 0
}

# kernel_name prints the versioned kernel package the cloud metapackage
# depends on (e.g. linux-image-6.1.0-57-cloud-amd64), or the last one
# fetched when apt knows none, or nothing.
kernel_name() {
	local name
	# apt-cache takes seconds; its answer only changes with apt's lists.
	if [ -s "$build/kernel.name" ] && [ "$build/kernel.name" -nt /var/lib/apt/lists ]; then
		cat "$build/kernel.name"
		return 0
	fi
	name=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
	if [ -z "$name" ] && [ -s "$build/kernel.name" ]; then
		name=$(cat "$build/kernel.name")
	fi
	echo "$name"
}

# fetch_kernel NAME: unpack the kernel package into $build/NAME (once).
fetch_kernel() {
	local name=$1 tmp
	[ -d "$build/$name/boot" ] && return 0
	tmp=$(mktemp -d)
	chmod 755 "$tmp" # apt's _apt user must be able to write into it
	(cd "$tmp" && apt-get download -q "$name" >/dev/null 2>&1) || {
		rm -rf "$tmp"
		skip "apt-get download $name failed (run apt-get update?)"
		return 1
	}
	dpkg-deb -x "$tmp"/*.deb "$tmp/x"
	rm -rf "${build:?}/$name"
	mkdir -p "$build"
	mv "$tmp/x" "$build/$name"
	rm -rf "$tmp"
}

# source_name prints the versioned kernel source package the linux-source
# metapackage depends on (e.g. linux-source-6.1), cached like kernel_name.
source_name() {
	local name
	if [ -s "$build/source.name" ] && [ "$build/source.name" -nt /var/lib/apt/lists ]; then
		cat "$build/source.name"
		return 0
	fi
	name=$(apt-cache depends linux-source 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-source-/ { print $2; exit }')
	if [ -z "$name" ] && [ -s "$build/source.name" ]; then
		name=$(cat "$build/source.name")
	fi
	echo "$name"
}

# source_version NAME prints the version apt would fetch of NAME.
source_version() {
	apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }'
}

# fetch_source NAME VERSION: unpack the kernel tree of the source package
# into $build/src-VERSION (once; whole: Kconfig reads Documentation/Kconfig).
fetch_source() {
	local name=$1 version=$2 tmp dir="$build/src-$2"
	[ -f "$dir/Makefile" ] && return 0
	tmp=$(mktemp -d)
	chmod 755 "$tmp"
	(cd "$tmp" && apt-get download -q "$name=$version" >/dev/null 2>&1) || {
		rm -rf "$tmp"
		skip "apt-get download $name failed (run apt-get update?)"
		return 1
	}
	dpkg-deb -x "$tmp"/*.deb "$tmp/x"
	mkdir -p "$tmp/src"
	tar -xJf "$tmp"/x/usr/src/"$name".tar.xz -C "$tmp/src" --strip-components=1
	rm -rf "$dir"
	mkdir -p "$build"
	mv "$tmp/src" "$dir"
	rm -rf "$tmp"
}

# build_kernel SRC OUT: configure the tree (tinyconfig + kernel.config),
# check every wanted option took, build vmlinux and copy it to OUT.
build_kernel() {
	local src=$1 out=$2 opt
	make -s -C "$src" ARCH=x86_64 tinyconfig >/dev/null
	(cd "$src" && ./scripts/kconfig/merge_config.sh -m .config "$here/kernel.config" >"$build/kconfig.log" 2>&1)
	make -s -C "$src" ARCH=x86_64 olddefconfig >/dev/null
	for opt in $(grep -E '^CONFIG_[A-Z0-9_]+=y$' "$here/kernel.config"); do
		grep -qx "$opt" "$src/.config" || skip "kernel.config: $opt did not take (a dependency is missing)"
	done
	echo "images: building the guest kernel (make vmlinux in $src; minutes)"
	make -s -C "$src" ARCH=x86_64 -j"$(nproc)" vmlinux >"$build/kernel.log" 2>&1 ||
		skip "the kernel build failed: see $build/kernel.log"
	is_pvh "$src/vmlinux" || skip "the built kernel has no PVH entry note"
	cp "$src/vmlinux" "$out.tmp"
	mv "$out.tmp" "$out"
}

# source_kernel NAME=VERSION OUT: the kernel built from that source with
# kernel.config, from the cache when a build of the same source and
# kernel.config is there (one build serves every checkout on the machine),
# else fetched, built and put in the cache. The cache is
# $INSITU_KERNEL_CACHE, default ${XDG_CACHE_HOME:-$HOME/.cache}/insitu/tiny-kernel.
source_kernel() {
	local name=$1 out=$2 key cache
	key=$({ echo "$name"; cat "$here/kernel.config"; } | sha256sum | cut -c1-16)
	cache=${INSITU_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/insitu/tiny-kernel}/$key
	if [ -s "$cache/vmlinux" ] && is_pvh "$cache/vmlinux"; then
		echo "images: guest kernel from $cache"
		cp "$cache/vmlinux" "$out.tmp"
		mv "$out.tmp" "$out"
		return 0
	fi
	fetch_source "${name%%=*}" "${name#*=}"
	build_kernel "$build/src-${name#*=}" "$out"
	mkdir -p "$cache"
	cp "$out" "$cache/vmlinux.tmp.$$"
	mv "$cache/vmlinux.tmp.$$" "$cache/vmlinux"
}

# extract_vmlinux BZIMAGE OUT: write the uncompressed ELF kernel inside a
# bzImage, as the kernel's scripts/extract-vmlinux does: try each LZ4
# legacy-frame magic (02 21 4c 18) until what follows decompresses to an
# ELF with a PVH entry note (Xen note type 18, XEN_ELFNOTE_PHYS32_ENTRY).
# lz4 exits 1 at the bzImage's trailing bytes after the stream; that is
# expected. Debian 12's cloud kernel is CONFIG_KERNEL_LZ4 with CONFIG_PVH.
extract_vmlinux() {
	local in=$1 out=$2 off
	for off in $(LC_ALL=C grep -obUaP '\x02\x21\x4c\x18' "$in" | cut -d: -f1); do
		tail -c "+$((off + 1))" "$in" | lz4 -dc >"$out.tmp" 2>/dev/null || true
		if [ "$(head -c 4 "$out.tmp" | od -An -c | tr -d ' ')" = '177ELF' ] &&
			is_pvh "$out.tmp"; then
			mv "$out.tmp" "$out"
			return 0
		fi
	done
	rm -f "$out.tmp"
	return 1
}

# is_pvh ELF: does the kernel carry the PVH entry note? (readelf when
# there is one; else trust the ELF magic.)
is_pvh() {
	command -v readelf >/dev/null 2>&1 || return 0
	readelf -n "$1" 2>/dev/null | grep -q 'Xen.*0x00000012'
}

# module_order DIR: print the wanted modules and their dependencies, each
# after everything it depends on, as paths relative to DIR.
module_order() {
	local dir=$1 seen=" " m
	visit() {
		local m=$1 f d
		case "$seen" in *" $m "*) return 0 ;; esac
		seen="$seen$m "
		f=$(find "$dir" -name "$m.ko" -o -name "$m.ko.xz" | head -n 1 || true)
		[ -n "$f" ] || { echo "images: module $m not in the kernel package" >&2; return 1; }
		for d in $(tr '\0' '\n' <"$f" | sed -n 's/^depends=//p' | tr ',' ' '); do
			visit "$d"
		done
		echo "${f#"$dir"/}"
	}
	for m in "${modules[@]}"; do visit "$m"; done
}

# add_modules KDIR DEST: the wanted modules (module_order) into DEST,
# uncompressed, and their names in load order into DEST/order.
add_modules() {
	local kdir=$1 dest=$2 f
	for f in $(module_order "$kdir"); do
		case "$f" in
		*.xz) xz -dc "$kdir/$f" >"$dest/$(basename "$f" .xz)" ;;
		*) cp "$kdir/$f" "$dest/" ;;
		esac
		basename "${f%.xz}" .ko >>"$dest/order"
	done
}

# add_busybox ROOT: busybox at /bin/busybox and a symlink per applet.
add_busybox() {
	local root=$1 a
	mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin"
	cp "$(command -v busybox)" "$root/bin/busybox"
	for a in $(busybox --list-full); do
		[ -e "$root/$a" ] || [ -L "$root/$a" ] || ln -s /bin/busybox "$root/$a"
	done
}

# add_elf ROOT BIN DEST: copy an executable and the shared libraries ldd
# lists for it, at the same paths (the host is Debian 12 like the guest).
add_elf() {
	local root=$1 bin=$2 dest=$3 lib
	mkdir -p "$root/$(dirname "$dest")"
	cp "$bin" "$root/$dest"
	for lib in $(ldd "$bin" | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
		mkdir -p "$root/$(dirname "$lib")"
		cp -L "$lib" "$root/$lib"
	done
}

# skeleton ROOT: the directories and files both the initramfs and the disk
# have: busybox and the boot scripts.
skeleton() {
	local root=$1
	mkdir -p "$root"/{dev,proc,sys,tmp,root,newroot,var/run,var/log,var/www,etc/dropbear}
	chmod 700 "$root/root"
	add_busybox "$root"
	cp -a "$here/guest/etc" "$here/guest/usr" "$root/"
	rm -f "$root/sbin/init"
	ln -s /bin/busybox "$root/sbin/init"
}

build_initrd() { # KDIR OUT (KDIR empty: a kernel without modules)
	local kdir=$1 out=$2 root="$build/initrd" f
	rm -rf "$root"
	skeleton "$root"
	cp "$here/guest/init" "$root/init"
	mkdir -p "$root/lib/modules"
	: >"$root/lib/modules/order"
	[ -z "$kdir" ] || add_modules "$kdir" "$root/lib/modules"
	# Not compressed: the kernel would inflate it under emulation (about
	# 0.3 s of a TCG boot); 2.6 MB instead of 1.2 MB.
	(cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet) >"$out.tmp"
	mv "$out.tmp" "$out"
}

build_root() { # OUT
	local out=$1 root="$build/rootfs"
	rm -rf "$root"
	skeleton "$root"
	add_elf "$root" "$(command -v dropbear)" /usr/sbin/dropbear
	add_elf "$root" "$(command -v dropbearkey)" /usr/bin/dropbearkey
	for lib in /lib/x86_64-linux-gnu/libnss_files.so.2; do
		[ -e "$lib" ] && cp -L "$lib" "$root/$lib"
	done
	rm -f "$out.tmp"
	mkfs.ext4 -q -F -L tiny -d "$root" "$out.tmp" "$size" >/dev/null
	mv "$out.tmp" "$out"
}

write_manifest() { # OUT
	printf '{"name": "tiny", "kernel": "vmlinux", "initrd": "initrd.img", "root": "root.img", "cmdline": "%s"}\n' \
		"$cmdline" >"$1.tmp"
	mv "$1.tmp" "$1"
}

main() {
	local name kdir="" stamp
	if [ "$kind" = source ]; then
		name=$(source_name)
		[ -n "$name" ] || skip "apt-cache knows no linux-source (run apt-get update)"
		name="$name=$(source_version "$name")"
		mkdir -p "$build"
		echo "${name%%=*}" >"$build/source.name"
	else
		name=$(kernel_name)
		[ -n "$name" ] || skip "apt-cache knows no linux-image-cloud-amd64 (run apt-get update)"
		mkdir -p "$build"
		echo "$name" >"$build/kernel.name"
	fi
	stamp=$({
		echo "$kind $name $cmdline $size ${modules[*]}"
		cd "$here" && find build.sh kernel.config guest -type f | sort | xargs sha256sum
		sha256sum "$(command -v busybox)" "$(command -v dropbear)" "$(command -v dropbearkey)"
	} | sha256sum | cut -d' ' -f1)
	if [ -s "$build/stamp" ] && [ "$(cat "$build/stamp")" = "$stamp" ] &&
		[ -s "$here/vmlinux" ] && [ -s "$here/initrd.img" ] && [ -s "$here/root.img" ] && [ -s "$here/manifest.json" ]; then
		echo "images: examples/images/tiny is up to date ($name)"
		return 0
	fi
	if [ "$kind" = source ]; then
		source_kernel "$name" "$here/vmlinux"
	else
		fetch_kernel "$name"
		kdir=$(echo "$build/$name"/lib/modules/*)
		extract_vmlinux "$(echo "$build/$name"/boot/vmlinuz-*)" "$here/vmlinux" ||
			skip "no LZ4-compressed PVH kernel inside $build/$name/boot/vmlinuz-*"
	fi
	rm -f "$here/vmlinuz" # the bzImage of earlier builds
	build_initrd "$kdir" "$here/initrd.img"
	build_root "$here/root.img"
	write_manifest "$here/manifest.json"
	echo "$stamp" >"$build/stamp"
	echo "images: built examples/images/tiny ($kind kernel $name)"
}

main "$@"
