#!/usr/bin/env bash
# Provision everything real QEMU guests under libvirtd need, idempotently, as root on Debian 12:
#   packages   qemu-system-x86 libvirt-daemon libvirt-daemon-driver-qemu busybox-static xz-utils
#   kernel     the Debian guest kernel (apt-get download, not installed): only vmlinuz and
#              the virtio-balloon modules are kept, in $STACK_DIR/guest
#   initramfs  busybox-static + those modules + guest-init.sh as /init
#   libvirt    the libvirt-qemu user/groups and /etc/libvirt/qemu.conf for a libvirtd
#              without systemd/virtlogd (written only if absent or written by us)
# Each step is skipped when its output is already there (about 0.2 s in all then).
# Exit status 77 (with the reason on stderr) means real guests cannot run on this machine.
# Starting/stopping libvirtd: libvirtd.sh. Guests: tests/integration/realstack.py.
. "$(dirname "$0")/lib.sh"

QEMU_CONF=/etc/libvirt/qemu.conf
QEMU_CONF_MARKER="# Written by mom's scripts/realstack/provision.sh"
PACKAGES="qemu-system-x86 libvirt-daemon libvirt-daemon-driver-qemu busybox-static xz-utils"

preflight() {
    [ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ] ||
        rs_skip "needs an x86_64 Linux host (this is $(uname -s) $(uname -m))"
    [ "$(id -u)" = 0 ] || rs_skip "needs root (apt, libvirtd for qemu:///system); running as $(id -un)"
    command -v dpkg-query >/dev/null && command -v apt-get >/dev/null ||
        rs_skip "needs a Debian system with apt-get/dpkg to install QEMU and libvirt"
}

step_packages() {
    sh "$PROJECT_ROOT/scripts/setup-system.sh" $PACKAGES
    [ -x /usr/bin/qemu-system-x86_64 ] || rs_die "qemu-system-x86_64 missing after installing qemu-system-x86"
    command -v libvirtd >/dev/null || rs_die "libvirtd missing after installing libvirt-daemon"
}

kernel_cached() {
    local m
    [ -s "$GUEST_DIR/vmlinuz" ] && [ -s "$GUEST_DIR/kernel-release" ] || return 1
    for m in $GUEST_MODULES; do [ -s "$GUEST_DIR/modules/$m.ko" ] || return 1; done
}

# The versioned package behind the linux-image-amd64 metapackage, e.g. linux-image-6.1.0-56-amd64.
kernel_package() {
    apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}

step_kernel() {
    if kernel_cached; then
        rs_log "kernel: cached ($(cat "$GUEST_DIR/kernel-release"))"
        return
    fi
    local pkg work m src
    pkg=$(kernel_package)
    if [ -z "$pkg" ]; then
        apt-get update -qq
        pkg=$(kernel_package)
    fi
    [ -n "$pkg" ] || rs_die "apt-cache cannot resolve linux-image-amd64 to a kernel package"
    work=$(mktemp -d "$STACK_DIR/kernel.XXXXXX")
    # shellcheck disable=SC2064  # expand $work now
    trap "rm -rf '$work'" EXIT
    rs_log "kernel: apt-get download $pkg (about 70 MB; not installed)"
    (cd "$work" && apt-get download -qq -o APT::Sandbox::User=root "$pkg")
    # Extract only what the guest needs instead of the whole 400 MB tree.
    mkdir -p "$work/root" "$work/out/modules"
    dpkg-deb --fsys-tarfile "$work"/*.deb |
        tar -x -C "$work/root" --wildcards './boot/vmlinuz-*' '*/kernel/drivers/virtio/*'
    cp "$work"/root/boot/vmlinuz-* "$work/out/vmlinuz"
    basename "$work"/root/boot/vmlinuz-* | sed 's/^vmlinuz-//' >"$work/out/kernel-release"
    for m in $GUEST_MODULES; do
        src=$(find "$work/root" -name "$m.ko" -o -name "$m.ko.xz" | head -n 1)
        [ -n "$src" ] || rs_die "module $m not found in $pkg"
        # busybox insmod may lack xz support: store plain .ko files.
        case "$src" in
            *.xz) xz -dc "$src" >"$work/out/modules/$m.ko" ;;
            *) cp "$src" "$work/out/modules/$m.ko" ;;
        esac
    done
    rm -rf "$GUEST_DIR/vmlinuz" "$GUEST_DIR/modules" "$GUEST_DIR/kernel-release"
    mkdir -p "$GUEST_DIR"
    mv "$work/out/vmlinuz" "$work/out/modules" "$work/out/kernel-release" "$GUEST_DIR/"
    rm -rf "$work"
    trap - EXIT
    rs_log "kernel: $(cat "$GUEST_DIR/kernel-release"), vmlinuz $(du -k "$GUEST_DIR/vmlinuz" | cut -f1) KiB"
}

busybox_binary() {
    # busybox-static's binary: it must not need shared libraries inside the initramfs.
    dpkg-query -L busybox-static | grep -E '/bin/busybox$' | head -n 1
}

# Applets linked into the initramfs: what guest-init.sh runs.
INITRAMFS_APPLETS="sh mount insmod rmmod cat sleep echo tr sed tail head cut awk yes"

# A digest of everything the initramfs is built from. Compared by content, not mtime: a
# checkout or merge that changes guest-init.sh or the applets always rebuilds it, and
# nothing else does.
initramfs_inputs() {
    {
        echo "$INITRAMFS_APPLETS"
        echo "$GUEST_MODULES"
        declare -f step_initramfs
        cat "$REALSTACK_SCRIPTS/guest-init.sh" "$1" "$GUEST_DIR"/modules/*.ko
    } | sha256sum | cut -d' ' -f1
}

step_initramfs() {
    local initrd=$GUEST_DIR/initrd.cpio.gz busybox work applet inputs
    busybox=$(busybox_binary)
    [ -x "$busybox" ] || rs_die "busybox-static's binary not found"
    inputs=$(initramfs_inputs "$busybox")
    if [ -s "$initrd" ] && [ "$(cat "$initrd.inputs" 2>/dev/null)" = "$inputs" ]; then
        rs_log "initramfs: up to date"
        return
    fi
    work=$(mktemp -d "$STACK_DIR/initramfs.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" EXIT
    mkdir -p "$work"/bin "$work"/proc "$work"/sys "$work"/dev "$work"/tmp "$work"/lib/modules
    cp "$busybox" "$work/bin/busybox"
    for applet in $INITRAMFS_APPLETS; do
        ln -s busybox "$work/bin/$applet"
    done
    cp "$GUEST_DIR"/modules/*.ko "$work/lib/modules/"
    sed "s/@GUEST_MODULES@/$GUEST_MODULES/" "$REALSTACK_SCRIPTS/guest-init.sh" >"$work/init"
    chmod 755 "$work/init"
    # cpio(1) is not installed on the base image; busybox has it.
    (cd "$work" && find . | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null | gzip -9) >"$initrd.tmp"
    mv "$initrd.tmp" "$initrd"
    echo "$inputs" >"$initrd.inputs"
    rm -rf "$work"
    trap - EXIT
    rs_log "initramfs: $(du -k "$initrd" | cut -f1) KiB"
}

step_libvirt_host() {
    # libvirtd looks up its compiled-in QEMU user (Debian: libvirt-qemu) before it reads
    # qemu.conf and exits without it, even though qemu.conf below runs QEMU as root.
    getent group kvm >/dev/null || groupadd -r kvm
    getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
    id libvirt-qemu >/dev/null 2>&1 ||
        useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
    local wanted
    wanted="$QEMU_CONF_MARKER
# libvirtd without libvirt-daemon-system/systemd: QEMU runs as root with no relabelling,
# so the guest kernel, initramfs, disks and serial logs can live in the project tree.
user = \"root\"
group = \"root\"
dynamic_ownership = 0
remember_owner = 0
security_driver = \"none\"
# No virtlogd: QEMU's stdout/stderr go straight to /var/log/libvirt/qemu/<name>.log.
stdio_handler = \"file\""
    mkdir -p /etc/libvirt
    if [ -e "$QEMU_CONF" ] && ! head -n 1 "$QEMU_CONF" | grep -qF "$QEMU_CONF_MARKER"; then
        rs_log "libvirt: keeping $QEMU_CONF (not written by the project; it must let QEMU run as root" \
            "and have stdio_handler = \"file\" or a running virtlogd)"
    elif [ "$(cat "$QEMU_CONF" 2>/dev/null)" != "$wanted" ]; then
        printf '%s\n' "$wanted" >"$QEMU_CONF"
        rs_log "libvirt: wrote $QEMU_CONF"
    fi
}

main() {
    preflight
    mkdir -p "$STACK_DIR"
    # Two runs of make/pytest in the same tree must not build the same files at once.
    exec 9>"$STACK_DIR/provision.lock"
    flock 9
    rs_step packages step_packages
    rs_step kernel step_kernel
    rs_step initramfs step_initramfs
    rs_step libvirt step_libvirt_host
    rs_log "ready: guest kernel $(cat "$GUEST_DIR/kernel-release"), domain type $(rs_detect_virt), in $STACK_DIR"
}

main "$@"
