# Storage layouts for Ingot's deploy agent (busybox sh, sourced by /init): GPT partitions
# (sgdisk), RAID arrays (mdadm), filesystems (mke2fs, mkfs.fat, mkswap), the OS's root
# filesystem archive extracted into them, and a boot loader (systemd-boot for UEFI, extlinux
# for BIOS). The layout comes from the deploy instructions, one instruction per line
# (docs/ramdisk.md):
#   disk DEV wipe|add|keep                  a new partition table, partitions added, or untouched
#   part DEV NUMBER SIZE TYPE LABEL         SIZE: +512M, +2048 (sectors) or 0 (the rest)
#   raid NAME LEVEL create|assemble MEMBER...
#   fs DEVICE FORMAT POINT make|keep [OPTION...]   in mount order; "keep" holds data to preserve
# Everything is checked before the first write: a layout that does not fit the disks, or data
# that is not where a reinstall with preserve_data expects it, fails with nothing written.

ST=/tmp/storage.lines
MNT=/mnt/root

# st_err MESSAGE: what failed, for the report (functions run in pipelines' subshells: a file carries it)
st_err() { echo "$*" > /tmp/st.fail; log "$*"; return 1; }

# st_lines KIND -> the layout's lines of one kind, without the kind
st_lines() { sed -n "s/^$1 //p" $ST; }

# fs_type DEV -> what blkid sees on DEV (ext4, vfat, swap, linux_raid_member...)
fs_type() { blkid "$1" 2>/dev/null | sed -n 's/.* TYPE="\([^"]*\)".*/\1/p'; }

fs_uuid() { blkid "$1" 2>/dev/null | sed -n 's/.* UUID="\([^"]*\)".*/\1/p'; }

# sectors SIZE -> 512-byte sectors of +512M, +2048, 0
sectors() {
	echo "${1#+}" | awk '{ u = substr($0, length($0)); n = $0 + 0
		m = u == "K" ? 2 : u == "M" ? 2048 : u == "G" ? 2097152 : u == "T" ? 2147483648 : 1
		printf "%.0f\n", n * m }'
}

wait_block() { # wait_block DEV: up to 10 s for a device node (partitions appear asynchronously)
	i=0
	while [ ! -b "$1" ] && [ $i -lt 40 ]; do sleep 0.25; i=$((i + 1)); done
	[ -b "$1" ]
}

st_check() { # the layout against the hardware and, when preserving, against what is on the disks
	st_lines disk | while read -r dev how; do
		[ -b "$dev" ] || st_err "disk $dev not found (disks: $(list_disks | tr '\n' ' '))" || return 1
		have=$(cat "/sys/block/${dev##*/}/size")
		need=$(st_lines part | awk -v d="$dev" '$1 == d { print $3 }' | while read -r s; do sectors "$s"; done \
			| awk '{ t += $1 } END { printf "%.0f\n", t + 2048 + 34 }')
		[ "$need" -le "$have" ] || st_err "the partitions of $dev need $((need / 2048)) MiB, it has $((have / 2048)) MiB" || return 1
		[ "$how" = keep ] || continue
		for n in $(st_lines part | awk -v d="$dev" '$1 == d { print $2 }'); do
			p=$(part_dev "$dev" "$n")
			[ -b "$p" ] || st_err "preserve_data: $p does not exist; $dev is not laid out as the device's layout says" || return 1
		done
	done || return 1
	st_keep_check plain
}

st_keep_check() { # st_keep_check plain|md: the data to keep is where the layout says (arrays once assembled)
	st_lines fs | while read -r dev fmt point how opts; do
		[ "$how" = keep ] || continue
		case "$dev" in /dev/md*) [ "$1" = md ] || continue ;; *) [ "$1" = plain ] || continue ;; esac
		got=$(fs_type "$dev")
		[ "$got" = "$fmt" ] || st_err "preserve_data: $dev should hold the $fmt filesystem of $point but holds ${got:-nothing}" || return 1
	done
}

st_partition() { # new partition tables (wipe) or new partitions (add); keep leaves the disk alone
	st_lines disk | while read -r dev how; do
		[ "$how" = keep ] && continue
		if [ "$how" = wipe ]; then
			sgdisk --zap-all "$dev" >/tmp/sgdisk.log 2>&1 || st_err "sgdisk --zap-all $dev: $(tail -n 1 /tmp/sgdisk.log)" || return 1
		fi
		args=""
		for line in $(st_lines part | awk -v d="$dev" '$1 == d { print $2 ":" $3 ":" $4 ":" $5 }'); do
			set -- $(echo "$line" | tr : ' ')
			args="$args -n $1:0:$2 -t $1:$3 -c $1:$4"
		done
		[ -n "$args" ] || continue
		# shellcheck disable=SC2086
		sgdisk $args "$dev" >/tmp/sgdisk.log 2>&1 || st_err "sgdisk $dev: $(tail -n 2 /tmp/sgdisk.log | tr '\n' ' ')" || return 1
		for n in $(st_lines part | awk -v d="$dev" '$1 == d { print $2 }'); do
			wait_block "$(part_dev "$dev" "$n")" || st_err "$(part_dev "$dev" "$n") did not appear" || return 1
		done
	done
}

st_raid() { # create (metadata 1.0: a member starts with its filesystem, so a boot loader reads it) or assemble
	st_lines raid | while read -r name level how members; do
		if [ "$how" = create ]; then
			for m in $members; do mdadm --zero-superblock --force "$m" >/dev/null 2>&1; done
			# shellcheck disable=SC2086
			mdadm --create "$name" --run --level="$level" --raid-devices=$(echo $members | wc -w) --metadata=1.0 \
				--homehost=any --name="${name##*/}" $members >/tmp/mdadm.log 2>&1 \
				|| st_err "mdadm --create $name: $(tail -n 2 /tmp/mdadm.log | tr '\n' ' ')" || return 1
		else
			# shellcheck disable=SC2086
			mdadm --assemble "$name" --run $members >/tmp/mdadm.log 2>&1 \
				|| st_err "preserve_data: cannot assemble $name from $members: $(tail -n 2 /tmp/mdadm.log | tr '\n' ' ')" \
				|| return 1
		fi
		wait_block "$name" || st_err "$name did not appear" || return 1
	done
}

st_mkfs() { # every filesystem the layout makes (after checking, once more, the data it keeps)
	st_keep_check md || return 1
	st_lines fs | while read -r dev fmt point how opts; do
		[ "$how" = make ] || continue
		# shellcheck disable=SC2086
		case "$fmt" in
		ext2|ext3|ext4) mkfs.$fmt -F -q $opts "$dev" ;;
		vfat) mkfs.vfat $opts "$dev" ;;
		swap) mkswap $opts "$dev" ;;
		esac >/tmp/mkfs.log 2>&1 || st_err "mkfs.$fmt $dev: $(tail -n 2 /tmp/mkfs.log | tr '\n' ' ')" || return 1
	done
}

st_mount() { # the OS's filesystems under $MNT (data filesystems are never mounted: nothing touches them)
	st_lines fs | while read -r dev fmt point how opts; do
		case "$point" in /|/boot|/boot/efi) ;; *) continue ;; esac
		mkdir -p "$MNT$point"
		mount -t "$fmt" "$dev" "$MNT$point" 2>/tmp/mount.err || st_err "mount $dev: $(cat /tmp/mount.err)" || return 1
	done
}

st_umount() {
	sync
	for point in /boot/efi /boot ""; do umount "$MNT$point" 2>/dev/null; done
	mdadm --stop --scan >/dev/null 2>&1
	sync
}

st_extract() { # the archive from $URL into $MNT, verified against $WANT (after: a pipe cannot be undone)
	rm -f /tmp/h.fifo; mkfifo /tmp/h.fifo
	sha256sum < /tmp/h.fifo > /tmp/h.sum &
	hpid=$!
	set -o pipefail
	# shellcheck disable=SC2086
	wget -q -O - "$URL" 2>/tmp/wget.err | tee /tmp/h.fifo | $DECODE 2>/tmp/decode.err | tar -x -f - -C "$MNT" 2>/tmp/tar.err
	rc=$?
	set +o pipefail
	wait $hpid
	got=$(cut -d ' ' -f 1 /tmp/h.sum)
	[ "$got" = "$WANT" ] || st_err "checksum mismatch: expected sha256:$WANT got sha256:$got" || return 1
	[ $rc -eq 0 ] || st_err "extracting $URL failed: $(cat /tmp/wget.err /tmp/decode.err /tmp/tar.err | tail -n 3 | tr '\n' ' ')"
}

st_configure() { # fstab, mdadm.conf, where the OS finds its metadata
	mkdir -p "$MNT/etc/mdadm" "$MNT/etc/ingot" "$MNT/etc/cloud/cloud.cfg.d"
	points=" $(st_lines fs | awk '{ print $3 }' | tr '\n' ' ')"
	[ -f "$MNT/etc/fstab" ] && awk -v p="$points" 'index(p, " " $2 " ") == 0' "$MNT/etc/fstab" > /tmp/fstab
	{
		cat /tmp/fstab 2>/dev/null
		echo "# the device's storage layout, written by Ingot's deploy agent"
		st_lines fs | while read -r dev fmt point how opts; do
			if [ "$fmt" = swap ]; then echo "UUID=$(fs_uuid "$dev") none swap sw 0 0"
			else echo "UUID=$(fs_uuid "$dev") $point $fmt defaults 0 $([ "$point" = / ] && echo 1 || echo 2)"; fi
		done
	} > "$MNT/etc/fstab"
	[ -z "$(st_lines raid)" ] || mdadm --detail --scan > "$MNT/etc/mdadm/mdadm.conf"
	# the installed system's metadata URL (its metadata secret) and one-time phone-home URL, as the
	# config drive carries them for a whole-disk image; never this boot's own credential
	echo "${OS_MD:-$MD}" > "$MNT/etc/ingot/metadata-url"
	chmod 600 "$MNT/etc/ingot/metadata-url"
	if [ -n "$OS_PH" ]; then
		echo "$OS_PH" > "$MNT/etc/ingot/phone-home-url"
		chmod 600 "$MNT/etc/ingot/phone-home-url"
	fi
	printf 'datasource_list: [NoCloud]\ndatasource:\n  NoCloud:\n    seedfrom: %s/nocloud/\n' "${OS_MD:-$MD}" \
		> "$MNT/etc/cloud/cloud.cfg.d/90-ingot.cfg"
}

# st_find NAME... -> the first of the image's files (links followed), as a path inside $MNT
st_find() {
	for k in "$@"; do
		[ -f "$MNT$k" ] && { readlink -f "$MNT$k" | sed "s|^$MNT||"; return 0; }
	done
	return 1
}

BOOT_OPTIONS="rw console=tty0 console=ttyS0,115200"

st_bootloader() {
	# the kernel and initrd the archive brought (Debian's /vmlinuz and /initrd.img links, or /boot/...)
	kernel=$(st_find /vmlinuz /boot/vmlinuz $(cd $MNT && ls boot/vmlinuz-* 2>/dev/null | sed 's|^|/|')) \
		|| st_err "the image has no kernel (/vmlinuz, /boot/vmlinuz or /boot/vmlinuz-*)" || return 1
	initrd=$(st_find /initrd.img /boot/initrd.img /boot/initrd.gz $(cd $MNT && ls boot/initrd.img-* 2>/dev/null | sed 's|^|/|'))
	options="root=UUID=$(fs_uuid "$(st_lines fs | awk '$3 == "/" { print $1 }')") $BOOT_OPTIONS"
	if [ "$BOOT_MODE" = uefi ]; then
		esp="$MNT/boot/efi"
		mkdir -p "$esp/EFI/BOOT" "$esp/EFI/systemd" "$esp/loader/entries" "$esp/ingot"
		{ cp /usr/lib/systemd/boot/efi/systemd-bootx64.efi "$esp/EFI/BOOT/BOOTX64.EFI" &&
		  cp /usr/lib/systemd/boot/efi/systemd-bootx64.efi "$esp/EFI/systemd/systemd-bootx64.efi" &&
		  cp "$MNT$kernel" "$esp/ingot/vmlinuz" && { [ -z "$initrd" ] || cp "$MNT$initrd" "$esp/ingot/initrd"; }; } \
			|| st_err "cannot write the boot loader to the EFI system partition" || return 1
		printf 'default ingot.conf\ntimeout 0\n' > "$esp/loader/loader.conf"
		{
			echo "title $HOSTNAME (Ingot)"
			echo "linux /ingot/vmlinuz"
			[ -z "$initrd" ] || echo "initrd /ingot/initrd"
			echo "options $options"
		} > "$esp/loader/entries/ingot.conf"
		return 0
	fi
	# BIOS: extlinux in the filesystem holding /boot, gptmbr.bin on every disk carrying it
	bootdev=$(st_lines fs | awk '$3 == "/boot" { print $1 }')
	if [ -n "$bootdev" ]; then kpath=${kernel#/boot}; ipath=${initrd#/boot}   # paths within /boot's own fs
	else bootdev=$(st_lines fs | awk '$3 == "/" { print $1 }'); kpath=$kernel; ipath=$initrd; fi
	mkdir -p "$MNT/boot/extlinux"
	extlinux --install "$MNT/boot/extlinux" >/tmp/extlinux.log 2>&1 \
		|| st_err "extlinux: $(tail -n 2 /tmp/extlinux.log | tr '\n' ' ')" || return 1
	{
		echo "SERIAL 0 115200"; echo "DEFAULT ingot"; echo "PROMPT 0"; echo "TIMEOUT 0"
		echo "LABEL ingot"
		echo "  KERNEL $kpath"
		[ -z "$initrd" ] || echo "  INITRD $ipath"
		echo "  APPEND $options"
	} > "$MNT/boot/extlinux/extlinux.conf"
	parts=$bootdev
	case "$bootdev" in /dev/md*) parts=$(st_lines raid | awk -v n="$bootdev" '$1 == n { for (i = 4; i <= NF; i++) print $i }') ;; esac
	for p in $parts; do
		set -- $(st_lines part | while read -r dev n rest; do [ "$(part_dev "$dev" "$n")" = "$p" ] && echo "$dev $n"; done)
		{ dd if=/usr/lib/syslinux/mbr/gptmbr.bin of="$1" bs=440 count=1 conv=notrunc 2>/dev/null &&
		  sgdisk -A "$2:set:2" "$1" >/tmp/sgdisk.log 2>&1; } || st_err "boot code on $1: $(tail -n 1 /tmp/sgdisk.log)" || return 1
	done
}

st_wipe() { # a wipe before a reinstall: with preserve_data only the OS's filesystems, else every disk
	mdadm --stop --scan >/dev/null 2>&1
	if st_lines disk | grep -q " keep$"; then
		st_check && st_raid || return 1
		for dev in $(st_lines fs | awk '$4 == "make" { print $1 }'); do
			wipe_disk "$dev" || st_err "wiping $dev failed" || return 1
			echo "$dev" >> /tmp/wiped
		done
		mdadm --stop --scan >/dev/null 2>&1
		return 0
	fi
	for dev in $(st_lines disk | awk '{ print $1 }') $(list_disks | sed 's|^|/dev/|'); do
		grep -qx "$dev" /tmp/wiped 2>/dev/null && continue
		[ -b "$dev" ] || continue
		wipe_disk "$dev" || st_err "wiping $dev failed" || return 1
		echo "$dev" >> /tmp/wiped
	done
}

st_deploy() {
	st_check || { st_err "$(cat /tmp/st.fail); nothing was written"; return 1; }
	mdadm --stop --scan >/dev/null 2>&1
	event 5 "laying out $(st_lines disk | awk '{ print $1 }' | tr '\n' ' ')"
	st_partition && st_raid && st_mkfs && st_mount || return 1
	event 20 "partitions, arrays and filesystems ready; extracting $URL"
	if ! st_extract; then
		st_umount
		for dev in $(st_lines fs | awk '$4 == "make" { print $1 }'); do wipe_disk "$dev"; done
		return 1
	fi
	event 80 "root filesystem extracted and verified (sha256:$WANT)"
	st_configure && st_bootloader || return 1
	event 95 "boot loader installed ($BOOT_MODE)"
	grep -q "^md" /proc/mdstat 2>/dev/null && event 96 "arrays: $(grep '^md' /proc/mdstat | tr '\n' ' ')"
	st_umount
}

# storage_run ACTION: carry out the layout in $ST for a wipe or a deploy, report, and finish (never returns)
storage_run() {
	rm -f /tmp/st.fail /tmp/wiped
	if [ "$1" = wipe ]; then
		event 0 "wiping by the storage layout"
		if st_wipe; then
			event 100 "wiped first and last $WIPE_BYTES bytes of $(tr '\n' ' ' < /tmp/wiped)"
			complete ok
		fi
		complete failed "$(cat /tmp/st.fail 2>/dev/null || echo "wipe failed")"
	fi
	[ "$1" = deploy ] || complete failed "unknown action '$1'"
	[ -n "$URL" ] || complete failed "no image_url in the deploy instructions"
	case "$SUM" in
	sha256:*) WANT=$(echo "${SUM#sha256:}" | tr 'A-F' 'a-f') ;;
	*) complete failed "image_checksum must be sha256:<hex>, not '$SUM'" ;;
	esac
	case "$FMT" in
	tar) DECODE=cat ;;
	tar.gz) DECODE="gunzip -c" ;;
	tar.xz) DECODE=xzcat ;;
	*) complete failed "a storage layout needs a root filesystem archive (tar, tar.gz, tar.xz), not '$FMT'" ;;
	esac
	if st_deploy; then
		event 100 "deployed by the storage layout"
		complete ok
	fi
	st_umount
	complete failed "$(cat /tmp/st.fail 2>/dev/null || echo "deploy failed")"
}
