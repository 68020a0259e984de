#!/bin/busybox sh
# /init of Ingot's bootable test OS (busybox sh): a stand-in for a tenant OS.
#
# Installed from the whole-disk image, it finds its metadata URL and its one-time phone-home URL
# in Ingot's config drive (a 4 KiB text block at the start of the disk's last MiB) and its root
# filesystem is the FAT partition 1 of that disk. Installed by a storage layout (the root
# filesystem archive), the boot loader passes root=UUID=...: it assembles its RAID arrays, mounts
# that root filesystem, reads the URLs the deploy agent left in /etc/ingot/metadata-url and
# /etc/ingot/phone-home-url and mounts the other filesystems of its /etc/fstab at their mount points.
#
# Then, like cloud-init: DHCP, GET <metadata>/metadata, the "ssh_keys" into
# /root/.ssh/authorized_keys of its root filesystem, POST the phone-home URL
# (<metadata>/phone-home without one) once per metadata URL (with /proc/mdstat), and once per
# metadata URL runs its user data if that is a script ("#!"), telling the user_state_url
# "running", then "succeeded" or "failed" (with the script's last line of output) --
# "succeeded" at once when there is no user data. Stays up, with a login prompt on its serial
# console (root, no password: a test OS).
. /lib/ingot/lib.sh
early_setup
exec </dev/console >/dev/console 2>&1
log() { echo "ingot-test-os: $*"; }
log "booted, kernel $(uname -r)"
load_modules

halt_here() { log "$*"; while :; do sleep 3600; done; }
mkdir -p /sysroot
ROOTSPEC=$(cmdline_get root)
if [ -n "$ROOTSPEC" ]; then
	# installed by a storage layout
	[ -x /sbin/mdadm ] && mdadm --assemble --scan --run >/tmp/mdadm.log 2>&1
	i=0
	until ROOT=$(findfs "$ROOTSPEC" 2>/dev/null); do
		i=$((i + 1)); [ $i -lt 40 ] || halt_here "root filesystem $ROOTSPEC not found ($(cat /tmp/mdadm.log))"
		sleep 0.25
	done
	mount "$ROOT" /sysroot 2>/tmp/mount.err || halt_here "cannot mount $ROOT: $(cat /tmp/mount.err)"
	MD=$(cat /sysroot/etc/ingot/metadata-url 2>/dev/null)
	PH=$(cat /sysroot/etc/ingot/phone-home-url 2>/dev/null)
	grep -v '^#' /sysroot/etc/fstab 2>/dev/null | while read -r spec point fmt rest; do
		case "$point" in ""|/|none) continue ;; esac
		dev=$(findfs "$spec" 2>/dev/null) || { log "fstab: $spec not found"; continue; }
		mkdir -p "$point" && mount -t "$fmt" "$dev" "$point" && log "mounted $dev ($fmt) at $point"
	done
	log "metadata $MD, root filesystem $ROOT"
else
	# the disk carrying our config drive is our disk
	DISK=""; MD=""; PH=""
	i=0
	while [ -z "$MD" ] && [ $i -lt 40 ]; do
		for d in $(list_disks); do
			if config_drive_read /dev/$d > /tmp/cd.kv; then
				DISK=/dev/$d; MD=$(sed -n 's/^metadata_url=//p' /tmp/cd.kv)
				PH=$(sed -n 's/^phone_home_url=//p' /tmp/cd.kv); break
			fi
		done
		[ -n "$MD" ] || { sleep 0.25; i=$((i + 1)); }
	done
	[ -n "$MD" ] || MD=$(cmdline_get ingot.metadata)
	[ -n "$MD" ] || halt_here "no config drive and no ingot.metadata=; staying up without metadata"
	[ -n "$DISK" ] || DISK=/dev/$(list_disks | head -n 1)
	ROOT=$(part_dev "$DISK" 1)
	log "metadata $MD, root filesystem $ROOT"
	i=0
	until mount -t vfat "$ROOT" /sysroot 2>/tmp/mount.err; do
		i=$((i + 1)); [ $i -lt 20 ] || { log "cannot mount $ROOT: $(cat /tmp/mount.err)"; break; }
		sleep 0.25
	done
fi
[ -n "$MD" ] || halt_here "no metadata URL in /etc/ingot/metadata-url; staying up without metadata"

net_up || halt_here "no network"
http_get "$MD/metadata" /tmp/metadata.json 15 || halt_here "cannot GET $MD/metadata"
HOST=$(json_get hostname /tmp/metadata.json)
[ -n "$HOST" ] && hostname "$HOST"
json_strings ssh_keys /tmp/metadata.json > /tmp/keys
mkdir -p /sysroot/root/.ssh
cp /tmp/keys /sysroot/root/.ssh/authorized_keys
mkdir -p /root/.ssh && cp /tmp/keys /root/.ssh/authorized_keys
sync
log "installed $(grep -c . /tmp/keys) ssh key(s) into /root/.ssh/authorized_keys"

mkdir -p /sysroot/ingot
DONE=/sysroot/ingot/phoned-home
if [ "$(cat $DONE 2>/dev/null)" != "$MD" ]; then
	ID=$(json_get id /tmp/metadata.json)
	MDSTAT=$(cat /proc/mdstat 2>/dev/null)
	if http_post "${PH:-$MD/phone-home}" "{\"instance_id\": $(json_str "$ID"), \"mdstat\": $(json_str "$MDSTAT")}" 30; then
		echo "$MD" > $DONE
		sync
		log "phoned home"
	fi
else
	log "already phoned home for this instance"
fi

# the user data, once per instance, and what came of it
STATE_URL=$(json_get user_state_url /tmp/metadata.json)
RAN=/sysroot/ingot/ran-user-data
if [ -n "$STATE_URL" ] && [ "$(cat $RAN 2>/dev/null)" != "$MD" ]; then
	user_state() { http_post "$STATE_URL" "{\"state\": \"$1\", \"code\": $2, \"message\": $(json_str "$3")}" 10; }
	http_get "$MD/userdata" /tmp/userdata 5 || : > /tmp/userdata
	if [ "$(head -c 2 /tmp/userdata)" = "#!" ]; then
		user_state running 2000 "running the user data"
		chmod +x /tmp/userdata
		/tmp/userdata > /tmp/userdata.log 2>&1
		rc=$?
		last=$(grep . /tmp/userdata.log | tail -n 1)
		log "user data exited with status $rc: $last"
		if [ $rc -eq 0 ]; then user_state succeeded 2001 "user data finished: $last"
		else user_state failed 2002 "user data exited with status $rc: $last"; fi
	else
		user_state succeeded 2001 "no user data script to run"
	fi
	echo "$MD" > $RAN
fi
sync
umount /sysroot 2>/dev/null
log "ready"
# a login prompt on the serial console, as an installed OS has one
echo 'root::0:0:root:/root:/bin/sh' > /etc/passwd
echo 'root:x:0:' > /etc/group
while :; do setsid getty -L 115200 ttyS0 vt100; sleep 1; done
