# Shell helpers shared by Ingot's deploy agent and the test OS (busybox sh).

log() { echo "ingot-agent: $*"; }

# Early userspace: busybox applets, /proc /sys /dev.
early_setup() {
	/bin/busybox --install -s /bin
	export PATH=/bin:/sbin:/usr/bin:/usr/sbin
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev 2>/dev/null || mdev -s
	mkdir -p /dev/pts /tmp /run
	echo 1 > /proc/sys/kernel/printk 2>/dev/null
}

# insmod every module listed (dependencies first) in /etc/ingot/modules.
load_modules() {
	kv=$(cat /etc/ingot/kernel-version)
	while read -r m; do
		[ -n "$m" ] || continue
		insmod "/lib/modules/$kv/$m" 2>/dev/null
	done < /etc/ingot/modules
}

# cmdline_get NAME -> value of NAME=value on the kernel command line
cmdline_get() {
	for w in $(cat /proc/cmdline); do
		case "$w" in "$1="*) echo "${w#*=}"; return 0 ;; esac
	done
	return 1
}

# Bring up the first interface that gets a DHCP lease: BOOTIF= (from iPXE) first,
# then interfaces with a link, then the rest.
net_up() {
	want=$(cmdline_get BOOTIF | sed 's/^01-//; s/-/:/g' | tr 'A-F' 'a-f')
	all=""; i=0
	while [ $i -lt 40 ]; do            # NIC drivers probe asynchronously
		all=""
		for p in /sys/class/net/*; do
			[ "${p##*/}" = lo ] || all="$all ${p##*/}"
		done
		[ -n "$all" ] && break
		sleep 0.25; i=$((i + 1))
	done
	ip link set lo up
	for n in $all; do ip link set "$n" up 2>/dev/null; done
	i=0
	while [ $i -lt 120 ]; do           # up to 30 s for a link (switch ports negotiating)
		for n in $all; do [ "$(cat /sys/class/net/$n/carrier 2>/dev/null)" = 1 ] && break 2; done
		sleep 0.25; i=$((i + 1))
	done
	first=""; linked=""; rest=""
	for n in $all; do
		if [ -n "$want" ] && [ "$(cat /sys/class/net/$n/address)" = "$want" ]; then first=$n
		elif [ "$(cat /sys/class/net/$n/carrier 2>/dev/null)" = 1 ]; then linked="$linked $n"
		else rest="$rest $n"; fi
	done
	for tries in 1 2 3; do
		for n in $first $linked $rest; do
			if udhcpc -i "$n" -n -q -t 5 -T 2 -s /lib/ingot/udhcpc.sh >/tmp/udhcpc.log 2>&1; then
				log "network up: $(cat /run/ingot-net)"
				return 0
			fi
		done
	done
	log "no DHCP lease on any of:$all"
	return 1
}

# json_get KEY FILE -> first value of "KEY": as text (strings unescaped); nothing for null
json_get() {
	awk -v key="$1" '
	BEGIN { RS = "\001" }
	{
		s = $0
		if (!match(s, "\"" key "\"[ \t\r\n]*:[ \t\r\n]*")) exit 1
		s = substr(s, RSTART + RLENGTH)
		if (substr(s, 1, 1) == "\"") {
			out = ""; i = 2; n = length(s)
			while (i <= n) {
				c = substr(s, i, 1)
				if (c == "\\") {
					e = substr(s, i + 1, 1)
					if (e == "n") out = out "\n"; else if (e == "t") out = out "\t";
					else if (e == "u") { out = out "?"; i += 4 } else out = out e
					i += 2; continue
				}
				if (c == "\"") break
				out = out c; i++
			}
			print out
		} else {
			match(s, /^[^],} \t\r\n]*/); v = substr(s, 1, RLENGTH)
			if (v != "null") print v
		}
	}' "$2"
}

# json_strings KEY FILE -> the strings of the array "KEY": [...], one per line
json_strings() {
	awk -v key="$1" '
	BEGIN { RS = "\001" }
	{
		s = $0
		if (!match(s, "\"" key "\"[ \t\r\n]*:[ \t\r\n]*\\[")) exit 1
		s = substr(s, RSTART + RLENGTH); n = length(s); i = 1; instr = 0; out = ""
		while (i <= n) {
			c = substr(s, i, 1)
			if (instr) {
				if (c == "\\") { e = substr(s, i + 1, 1); out = out (e == "n" ? "\n" : e); i += 2; continue }
				if (c == "\"") { print out; out = ""; instr = 0 } else out = out c
			} else if (c == "\"") instr = 1
			else if (c == "]") break
			i++
		}
	}' "$2"
}

# json_str TEXT -> TEXT as a JSON string literal
json_str() {
	printf '%s' "$1" | awk 'BEGIN { ORS = "" } {
		gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); gsub(/\r/, "")
		printf "%s%s", (NR > 1 ? "\\n" : ""), $0 }
		END { }' | { printf '"'; cat; printf '"'; }
}

# (busybox-static 1.35 wget segfaults with -T; bound requests with the timeout applet)
# http_get URL FILE [TRIES]
http_get() {
	t=0
	while [ $t -lt "${3:-10}" ]; do
		timeout 30 wget -q -O "$2" "$1" && return 0
		t=$((t + 1)); sleep 2
	done
	return 1
}

# http_post URL JSON [TRIES]
http_post() {
	t=0
	while [ $t -lt "${3:-5}" ]; do
		timeout 30 wget -q -O /dev/null --header "Content-Type: application/json" --post-data "$2" "$1" && return 0
		t=$((t + 1)); sleep 1
	done
	log "POST $1 failed"
	return 1
}

# block devices that look like installable disks, in name order
list_disks() {
	for p in /sys/block/*; do
		n=${p##*/}
		case "$n" in loop*|ram*|sr*|fd*|dm-*|md*|zram*|nbd*|mtdblock*) continue ;; esac
		[ "$(cat "$p/removable" 2>/dev/null)" = 1 ] && continue
		[ "$(cat "$p/size" 2>/dev/null || echo 0)" -gt 0 ] || continue
		echo "$n"
	done
}

# part_dev DISK N -> /dev/vda1, /dev/nvme0n1p1 ...
part_dev() {
	case "$1" in *[0-9]) echo "${1}p$2" ;; *) echo "$1$2" ;; esac
}

# The config drive: one 4 KiB text block at the start of the disk's last MiB.
CONFIG_MAGIC="INGOT-CONFIG-DRIVE 1"
# config_drive_read DEV(/dev/vda) -> the block's key=value lines (fails if absent)
config_drive_read() {
	n=${1##*/}
	sz=$(cat "/sys/block/$n/size")
	[ "$sz" -gt 4096 ] || return 1
	dd if="$1" bs=512 skip=$((sz - 2048)) count=8 2>/dev/null | tr -d '\000' > /tmp/cd.$n
	[ "$(head -n 1 /tmp/cd.$n)" = "$CONFIG_MAGIC" ] || return 1
	sed -n '2,/^END$/p' /tmp/cd.$n | grep -v '^END$'
}

# ---- inspection: the hardware as JSON (the shape of Ingot's machine facts; docs/ramdisk.md)

dmi() { cat "/sys/class/dmi/id/$1" 2>/dev/null | tr -d '\000' | sed 's/ *$//'; }

# redfish_host_interface_ip -> the Redfish service's IPv4 address from SMBIOS type 42 (DSP0270), if any
redfish_host_interface_ip() {
	for e in /sys/firmware/dmi/entries/42-*/raw; do
		[ -r "$e" ] || continue
		od -An -v -tu1 "$e" | tr -s ' ' '\n' | grep -v '^$' | awk '
		{ b[NR - 1] = $1 }
		END {
			if (b[4] != 64) exit              # 0x40: network host interface
			i = 6 + b[5]; count = b[i]; i++    # skip the interface-specific data
			for (r = 0; r < count; r++) {
				type = b[i]; len = b[i + 1]; d = i + 2
				# 0x04: Redfish over IP; service address format (offset 0x33) 1: IPv4, at 0x34
				if (type == 4 && b[d + 51] == 1) { printf "%d.%d.%d.%d\n", b[d + 52], b[d + 53], b[d + 54], b[d + 55]; exit }
				i = d + len
			}
		}'
	done | head -n 1
}

# bmc_json -> {"address": ..., "source": ...} of the machine's own BMC, or null
bmc_json() {
	if command -v ipmitool >/dev/null 2>&1; then
		a=$(ipmitool lan print 1 2>/dev/null | awk -F': *' '/^IP Address  *:/ {print $2; exit}')
		if [ -n "$a" ] && [ "$a" != 0.0.0.0 ]; then
			printf '{"address": "%s", "source": "ipmitool lan print"}' "$a"; return
		fi
	fi
	a=$(redfish_host_interface_ip)
	if [ -n "$a" ]; then
		printf '{"address": "%s", "source": "redfish host interface"}' "$a"; return
	fi
	printf null
}

inspect_facts() {
	cpus=$(grep -c '^processor' /proc/cpuinfo)
	mem=""
	if [ -r /sys/devices/system/memory/block_size_bytes ]; then   # installed memory, by hotplug blocks
		bs=$((0x$(cat /sys/devices/system/memory/block_size_bytes)))
		n=0
		for f in /sys/devices/system/memory/memory*/online; do [ "$(cat "$f")" = 1 ] && n=$((n + 1)); done
		[ $n -gt 0 ] && mem=$((n * bs / 1048576))
	fi
	[ -n "$mem" ] || mem=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024))
	printf '{"cpus": %s, "memory_mib": %s, "disks": [' "$cpus" "$mem"
	sep=""
	for d in $(list_disks); do
		bytes=$(($(cat "/sys/block/$d/size") * 512))
		case "$d" in
		nvme*) type=nvme ;;
		vd*) type=virtio ;;
		*) if [ "$(cat "/sys/block/$d/queue/rotational" 2>/dev/null)" = 1 ]; then type=hdd; else type=ssd; fi ;;
		esac
		model=$(cat "/sys/block/$d/device/model" 2>/dev/null | sed 's/ *$//')
		printf '%s{"name": "%s", "size_bytes": %s, "size_gb": %s, "type": "%s", "model": %s}' "$sep" "$d" \
			"$bytes" "$(awk -v b="$bytes" 'BEGIN { printf "%.3f", b / 1e9 }')" "$type" "$(json_str "$model")"
		sep=", "
	done
	printf '], "nics": ['
	sep=""
	for p in /sys/class/net/*; do
		[ -e "$p/device" ] || continue     # physical NICs only: no lo, bonds, bridges or VLANs
		if [ "$(cat "$p/carrier" 2>/dev/null)" = 1 ]; then c=true; else c=false; fi
		printf '%s{"name": "%s", "mac": "%s", "carrier": %s}' "$sep" "${p##*/}" "$(cat "$p/address")" "$c"
		sep=", "
	done
	if [ -d /sys/firmware/efi ]; then mode=uefi; else mode=bios; fi   # how the firmware booted us
	printf '], "serial": %s, "vendor": %s, "model": %s, "bmc": %s, "boot_mac": %s, "boot_mode": "%s"}\n' \
		"$(json_str "$(dmi product_serial)")" "$(json_str "$(dmi sys_vendor)")" "$(json_str "$(dmi product_name)")" \
		"$(bmc_json)" "$(json_str "$(cmdline_get BOOTIF | sed 's/^01-//; s/-/:/g' | tr 'A-F' 'a-f')")" "$mode"
}
