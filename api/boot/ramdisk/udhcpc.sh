#!/bin/sh
# udhcpc event script for Ingot's ramdisks: configure the lease on the interface.
case "$1" in
deconfig)
	ip -4 addr flush dev "$interface" 2>/dev/null
	ip link set "$interface" up
	;;
bound|renew)
	ip -4 addr flush dev "$interface" 2>/dev/null
	ip addr add "$ip/${mask:-24}" ${broadcast:+broadcast "$broadcast"} dev "$interface"
	if [ -n "$router" ]; then
		ip route del default 2>/dev/null
		for r in $router; do ip route add default via "$r" dev "$interface" && break; done
	fi
	: > /etc/resolv.conf
	for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
	echo "$interface $ip" > /run/ingot-net
	;;
esac
exit 0
