#!/bin/busybox sh
# Ingot deploy agent: /init of the deploy ramdisk (busybox sh).
#
# Kernel command line (from Ingot's iPXE script):
#   ingot.metadata=<base>/metadata/<boot-credential> this boot's one-time URL (required, except inspect)
#   ingot.action=deploy|wipe|rescue|inspect          default: what <metadata>/deploy says
#   ingot.report=<URL>                               inspect: where to POST the hardware found (one-time)
#   ingot.after=reboot|poweroff|shell               default: reboot (or "after" in the JSON)
#   BOOTIF=01-aa-bb-cc-dd-ee-ff                     optional: NIC to use first
# Contract: docs/ramdisk.md.
AGENT_VERSION=1
. /lib/ingot/lib.sh
early_setup
exec </dev/console >/dev/console 2>&1
log "Ingot deploy agent v$AGENT_VERSION, kernel $(uname -r)"
load_modules

MD=$(cmdline_get ingot.metadata)
ACTION=$(cmdline_get ingot.action)
AFTER=$(cmdline_get ingot.after)

finish() {
	sync
	[ -n "$AFTER" ] || AFTER=reboot
	log "done; $AFTER"
	case "$AFTER" in
	poweroff) poweroff -f ;;
	shell) exec sh ;;
	*) reboot -f ;;
	esac
	sleep 5; echo o > /proc/sysrq-trigger 2>/dev/null
	while :; do sleep 60; done
}

event() { # event PERCENT TEXT
	log "[$1%] $2"
	http_post "$MD/events" "{\"type\": \"provisioning.image_writing\", \"body\": $(json_str "$2"), \"percentage\": $1}" 2 || true
}

complete() { # complete ok | complete failed MESSAGE
	if [ "$1" = ok ]; then
		body='{"status": "ok"}'
	else
		log "FAILED: $2"
		body="{\"status\": \"failed\", \"message\": $(json_str "$2")}"
	fi
	http_post "$MD/deploy/complete" "$body" 10 || log "could not report completion"
	finish
}

if [ "$ACTION" = inspect ]; then
	# inspection (a machine without a BMC, or one that netbooted with an unknown MAC): report the
	# hardware to the one-time URL Ingot put on the command line, then power off
	REPORT=$(cmdline_get ingot.report)
	AFTER=${AFTER:-poweroff}
	[ -n "$REPORT" ] || { log "inspect: no ingot.report= on the kernel command line"; finish; }
	for h in /etc/ingot/hooks/*.sh; do [ -f "$h" ] && . "$h"; done
	net_up || finish
	inspect_facts > /tmp/facts.json
	log "hardware: $(cat /tmp/facts.json)"
	http_post "$REPORT" "$(cat /tmp/facts.json)" 10 && log "hardware reported" || log "could not report the hardware"
	finish
fi

wipe_disk() { # wipe_disk DEV: zero its first and last WIPE_BYTES (a disk, a partition or an array)
	wd=$(readlink -f "$1"); wsec=$(cat "/sys/class/block/${wd##*/}/size")
	mib=$(((WIPE_BYTES + 1048575) / 1048576))
	[ $((mib * 1048576 * 2)) -le $((wsec * 512)) ] || mib=$((wsec / 4096))
	dd if=/dev/zero of="$wd" bs=1M count=$mib conv=fsync 2>/dev/null || return 1
	# the tail to the very last sector (a GPT backup header lives there); disks are rarely MiB-aligned
	start=$((wsec - mib * 2048))
	if [ $((start % 2048)) -eq 0 ]; then
		dd if=/dev/zero of="$wd" bs=1M count=$mib seek=$((start / 2048)) conv=fsync 2>/dev/null || return 1
	else
		dd if=/dev/zero of="$wd" bs=512 count=$((mib * 2048)) seek=$start conv=fsync 2>/dev/null || return 1
	fi
	sync
}

if [ -z "$MD" ] && [ "$ACTION" != wipe ]; then
	log "no ingot.metadata= on the kernel command line; nothing to do"
	AFTER=${AFTER:-shell}; finish
fi
for h in /etc/ingot/hooks/*.sh; do [ -f "$h" ] && . "$h"; done   # operator hooks (modules, firmware)

J=/tmp/deploy.json
if [ -z "$MD" ]; then
	# ingot.action=wipe without a metadata URL: wipe the default disk, report nothing
	log "no ingot.metadata=: wiping without reporting"
	echo '{"action": "wipe"}' > $J
	event() { log "[$1%] $2"; }
	complete() { [ "$1" = ok ] || log "FAILED: $2"; AFTER=${AFTER:-poweroff}; finish; }
else
	if ! net_up; then
		AFTER=${AFTER:-poweroff}; finish
	fi
	if ! http_get "$MD/deploy" $J 15; then
		log "cannot GET $MD/deploy"
		AFTER=${AFTER:-poweroff}; finish
	fi
fi
[ -n "$ACTION" ] || ACTION=$(json_get action $J)
[ -n "$AFTER" ] || AFTER=$(json_get after $J)
URL=$(json_get image_url $J)
SUM=$(json_get image_checksum $J)
FMT=$(json_get image_format $J)
DISK=$(json_get target_disk $J)
WIPE_BYTES=$(json_get bytes $J)
SIZE=$(json_get image_size $J)
BOOT_MODE=$(json_get boot_mode $J)
HOSTNAME=$(json_get hostname $J)
OS_MD=$(json_get metadata_url $J)       # the installed system's metadata URL and one-time phone-home
OS_PH=$(json_get phone_home_url $J)     # URL: the config drive below, or /etc/ingot (storage.sh)
[ -n "$WIPE_BYTES" ] || WIPE_BYTES=1048576
[ "$ACTION" = install ] && ACTION=deploy

if [ "$ACTION" = rescue ]; then
	# rescue: stay up in RAM with a shell on the console; the disks are untouched
	log "rescue mode: busybox shell on the console"
	if [ -n "$MD" ]; then
		http_post "$MD/events" '{"type": "rescue.ready", "body": "rescue mode: busybox shell on the console"}' 2
		http_post "$MD/phone-home" '{"rescue": true}' 10   # the rescue environment is up
	fi
	while :; do sh </dev/console >/dev/console 2>&1; sleep 1; done
fi

# ---- a storage layout (partitions, RAID, filesystems): lib/ingot/storage.sh does it all
if json_strings storage $J > /tmp/storage.lines 2>/dev/null && [ -s /tmp/storage.lines ]; then
	. /lib/ingot/storage.sh
	storage_run "$ACTION"
fi

# ---- the target disk
i=0
while [ -z "$DISK" ] && [ $i -lt 40 ]; do
	d=$(list_disks | head -n 1)
	[ -n "$d" ] && DISK=/dev/$d && break
	sleep 0.25; i=$((i + 1))
done
[ -n "$DISK" ] && DISK=$(readlink -f "$DISK")      # /dev/disk/by-path/... -> /dev/sdX
if [ -z "$DISK" ] || [ ! -b "$DISK" ]; then
	complete failed "no target disk found${DISK:+ ($DISK is not a block device)}; disks: $(list_disks | tr '\n' ' ')"
fi
DEV=${DISK##*/}
SECTORS=$(cat /sys/block/$DEV/size)
DISK_BYTES=$((SECTORS * 512))
log "target disk $DISK ($((DISK_BYTES / 1048576)) MiB), action $ACTION"

if [ "$ACTION" = wipe ]; then
	# every disk (a second disk may hold a RAID member or data), the target disk when one is named
	WIPE=$DISK
	[ -n "$(json_get target_disk $J)" ] || WIPE=$(list_disks | sed 's|^|/dev/|' | tr '\n' ' ')
	event 0 "wiping $WIPE"
	for d in $WIPE; do
		wipe_disk "$d" || complete failed "wiping $d failed"
	done
	event 100 "wiped first and last $WIPE_BYTES bytes of $WIPE"
	complete ok
fi

if [ "$ACTION" != deploy ]; then
	complete failed "unknown action '$ACTION'"
fi
[ -n "$URL" ] || complete failed "no image_url in the deploy instructions"
case "$SUM" in
sha256:*) WANT=${SUM#sha256:} ;;
*:*) complete failed "unsupported checksum algorithm '${SUM%%:*}' (only sha256)" ;;
"") complete failed "no image_checksum in the deploy instructions" ;;
*) WANT=$SUM ;;
esac
WANT=$(echo "$WANT" | tr 'A-F' 'a-f')
case "${FMT:-raw}" in
raw) DECODE=cat ;;
gz|gzip) DECODE="gunzip -c" ;;
xz) DECODE="xzcat" ;;
*) complete failed "unsupported image_format '$FMT' (raw, gz, xz)" ;;
esac

# ---- stream: HTTP -> tee(sha256) -> decompress -> disk; verify after
event 5 "writing $URL to $DISK"
rm -f /tmp/h.fifo; mkfifo /tmp/h.fifo
sha256sum < /tmp/h.fifo > /tmp/h.sum &
HPID=$!
wstat() { awk '{print $7}' /sys/block/$DEV/stat; }
W0=$(wstat)
NETIF=$(cut -d ' ' -f 1 /run/ingot-net)
rxb() { cat /sys/class/net/$NETIF/statistics/rx_bytes 2>/dev/null || echo 0; }
R0=$(rxb)
( # progress reporter: downloaded share of Content-Length (NIC rx counter), MiB written
	while :; do
		sleep 5
		[ -f /tmp/write.done ] && exit 0
		mib=$((($(wstat) - W0) / 2048))
		len=$(sed -n 's/^ *[Cc]ontent-[Ll]ength: *\([0-9]*\).*/\1/p' /tmp/wget.err | tail -n 1)
		[ -n "$len" ] || len=$SIZE
		if [ -n "$len" ] && [ "$len" -gt 0 ]; then
			pct=$((5 + ($(rxb) - R0) / (len / 85 + 1))); [ $pct -le 89 ] || pct=89
		else pct=50; fi
		event $pct "wrote $mib MiB to $DISK"
	done
) &
PPID_=$!
set -o pipefail
if wget -q -S -O - "$URL" 2>/tmp/wget.err | tee /tmp/h.fifo | $DECODE 2>/tmp/decode.err | dd of="$DISK" bs=1M conv=fsync 2>/tmp/dd.err; then
	WROTE_OK=1
else
	WROTE_OK=0
fi
set +o pipefail
touch /tmp/write.done
wait $HPID
kill $PPID_ 2>/dev/null
sync
GOT=$(cut -d ' ' -f 1 /tmp/h.sum)
# bytes written = the disk's written-sectors counter delta (busybox dd prints no byte count)
WRITTEN=$((($(wstat) - W0) * 512))
if [ "$GOT" != "$WANT" ]; then
	wipe_disk "$DISK"
	if [ "$WROTE_OK" = 1 ]; then
		complete failed "checksum mismatch: expected sha256:$WANT got sha256:$GOT"
	fi
fi
if [ "$WROTE_OK" != 1 ]; then
	wipe_disk "$DISK"
	complete failed "writing $URL to $DISK failed: $(cat /tmp/wget.err /tmp/decode.err /tmp/dd.err 2>/dev/null | grep -v '^ ' | grep -v 'records [io]' | tail -n 3 | tr '\n' ' ')"
fi
event 90 "image written ($WRITTEN bytes) and verified (sha256:$GOT)"

# ---- config drive: where the installed OS finds its metadata URL
if [ -n "$WRITTEN" ] && [ "$WRITTEN" -le $((DISK_BYTES - 1048576)) ]; then
	{
		echo "$CONFIG_MAGIC"
		echo "metadata_url=${OS_MD:-$MD}"
		[ -n "$OS_PH" ] && echo "phone_home_url=$OS_PH"
		echo "END"
	} > /tmp/cd.txt
	dd if=/dev/zero of="$DISK" bs=512 seek=$((SECTORS - 2048)) count=2048 2>/dev/null
	# conv=sync pads the text to one 4 KiB block; write it at the start of the last MiB
	dd if=/tmp/cd.txt bs=4096 count=1 conv=sync 2>/dev/null | dd of="$DISK" bs=512 seek=$((SECTORS - 2048)) conv=fsync 2>/dev/null
	sync
	event 95 "config drive written at the last MiB of $DISK"
else
	event 95 "no config drive: the image leaves no free MiB at the end of $DISK"
fi
event 100 "deployed to $DISK"
complete ok
