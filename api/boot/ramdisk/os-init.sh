#!/bin/busybox sh
# /init of Ingot's bootable test OS (busybox sh): a stand-in for a tenant OS.
#
# On boot it finds its metadata URL and its one-time phone-home URL in Ingot's
# config drive (a 4 KiB text block at the start of the disk's last MiB), brings
# up DHCP, GETs <metadata>/metadata, writes the "ssh_keys" into
# /root/.ssh/authorized_keys on its own root filesystem (the FAT partition 1 of
# the disk it booted from), then POSTs the phone-home URL (<metadata>/phone-home
# without one) once per metadata URL and stays up, with a login prompt on its
# serial console (root, no password: a test OS).
. /lib/ingot/lib.sh
early_setup
exec </dev/console >/dev/console 2>&1
log() { echo "ingot-test-os: $*"; }
log "booted, kernel $(uname -r)"
load_modules

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
if [ -z "$MD" ]; then
	log "no config drive and no ingot.metadata=; staying up without metadata"
	while :; do sleep 3600; done
fi
[ -n "$DISK" ] || DISK=/dev/$(list_disks | head -n 1)
ROOT=$(part_dev "$DISK" 1)
log "metadata $MD, root filesystem $ROOT"
mkdir -p /sysroot
i=0
until mount -t vfat "$ROOT" /sysroot 2>/tmp/mount.err; do
	i=$((i + 1)); [ $i -lt 20 ] || { log "cannot mount $ROOT: $(cat /tmp/mount.err)"; break; }
	sleep 0.25
done

net_up || { log "no network"; while :; do sleep 3600; done; }
if ! http_get "$MD/metadata" /tmp/metadata.json 15; then
	log "cannot GET $MD/metadata"
	while :; do sleep 3600; done
fi
HOST=$(json_get hostname /tmp/metadata.json)
[ -n "$HOST" ] && hostname "$HOST"
json_strings ssh_keys /tmp/metadata.json > /tmp/keys
mkdir -p /sysroot/root/.ssh
cp /tmp/keys /sysroot/root/.ssh/authorized_keys
mkdir -p /root/.ssh && cp /tmp/keys /root/.ssh/authorized_keys
sync
log "installed $(grep -c . /tmp/keys) ssh key(s) into /root/.ssh/authorized_keys"

DONE=/sysroot/ingot/phoned-home
if [ "$(cat $DONE 2>/dev/null)" != "$MD" ]; then
	ID=$(json_get id /tmp/metadata.json)
	if http_post "${PH:-$MD/phone-home}" "{\"instance_id\": $(json_str "$ID")}" 30; then
		mkdir -p /sysroot/ingot && echo "$MD" > $DONE
		sync
		log "phoned home"
	fi
else
	log "already phoned home for this instance"
fi
sync
umount /sysroot 2>/dev/null
log "ready"
# a login prompt on the serial console, as an installed OS has one
echo 'root::0:0:root:/root:/bin/sh' > /etc/passwd
echo 'root:x:0:' > /etc/group
while :; do setsid getty -L 115200 ttyS0 vt100; sleep 1; done
