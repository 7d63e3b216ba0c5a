#!/bin/sh
# /init of the realstack test guest (busybox sh inside the initramfs built by provision.sh).
# Loads the virtio-balloon modules, optionally fills mom_fill_mib MiB of tmpfs with one
# repeated page (identical in every guest, for KSM tests), prints GUEST-READY, then every
# mom_mem_period seconds one line the host parses from the serial log:
#     MEM <uptime s> <MemTotal kB> <MemFree kB> <MemAvailable kB>
# Kernel parameters: mom_fill_mib=N (default 0), mom_mem_period=S (default 2),
# mom_unload_balloon=S (default 0: never): once the uptime reaches S seconds, the balloon
# driver is unloaded (rmmod virtio_balloon; a guest whose driver stopped answering, for the
# stuck-balloon tests) and one line says how it went:
#     BALLOON-UNLOADED <uptime s>        or        BALLOON-UNLOAD-FAILED <reason>
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs -o size=90% tmpfs /tmp

param() {  # param NAME DEFAULT: value of NAME=... on the kernel command line
    v=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p" | tail -n 1)
    echo "${v:-$2}"
}

for m in @GUEST_MODULES@; do
    if ! insmod "/lib/modules/$m.ko"; then
        # The host waits for GUEST-READY; tell it at once instead of letting it time out.
        echo "GUEST-FAILED insmod $m"
        exec sleep 100000
    fi
done

FILL_MIB=$(param mom_fill_mib 0)
PERIOD=$(param mom_mem_period 2)
UNLOAD_AT=$(param mom_unload_balloon 0)
if [ "$FILL_MIB" -gt 0 ]; then
    # 63 characters + newline = 64 bytes, which divides 4096: every page of the file is the
    # same page. (busybox "head -c 96M" silently writes nothing, hence the arithmetic.)
    yes 'mom-realstack-ksm-fill-0123456789abcdef0123456789abcdef01234567' |
        head -c $((FILL_MIB * 1048576)) >/tmp/fill
    echo "FILLED $FILL_MIB MiB"
fi
echo "GUEST-READY $(cut -d' ' -f1 /proc/uptime)"

unload_balloon() {
    if [ ! -d /sys/module/virtio_balloon ]; then
        echo "BALLOON-UNLOAD-FAILED virtio_balloon is not loaded"
    elif [ ! -e /sys/module/virtio_balloon/initstate ]; then
        # only loadable modules have an initstate; a built-in driver cannot be removed
        echo "BALLOON-UNLOAD-FAILED virtio_balloon is built into the kernel"
    elif ! out=$(rmmod virtio_balloon 2>&1); then
        echo "BALLOON-UNLOAD-FAILED rmmod: $(echo $out)"
    elif [ -d /sys/module/virtio_balloon ]; then
        echo "BALLOON-UNLOAD-FAILED rmmod returned but /sys/module/virtio_balloon is still there"
    else
        echo "BALLOON-UNLOADED $(cut -d' ' -f1 /proc/uptime)"
    fi
}

while :; do
    if [ "$UNLOAD_AT" -gt 0 ]; then
        up=$(cut -d' ' -f1 /proc/uptime)
        if [ "${up%.*}" -ge "$UNLOAD_AT" ]; then
            unload_balloon
            UNLOAD_AT=0
        fi
    fi
    awk -v up="$(cut -d' ' -f1 /proc/uptime)" '
        /^MemTotal:/ { t = $2 } /^MemFree:/ { f = $2 } /^MemAvailable:/ { a = $2 }
        END { print "MEM", up, t, f, a }' /proc/meminfo
    sleep "$PERIOD"
done
