# shellcheck shell=bash
# Shared helpers for scripts/realstack/*.sh (sourced, not run): paths, timed logging,
# the "cannot run here" exit status, and the KVM-or-TCG decision.

set -euo pipefail

REALSTACK_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJECT_ROOT=$(cd "$REALSTACK_SCRIPTS/../.." && pwd)
# Everything the stack builds or writes at run time lives here (gitignored).
STACK_DIR=${MOM_REALSTACK_DIR:-$PROJECT_ROOT/.realstack}
# The guest kernel, its modules and the initramfs.
GUEST_DIR=$STACK_DIR/guest
LIBVIRTD_PIDFILE=$STACK_DIR/libvirtd.pid
# Exit status meaning "real guests cannot run on this machine" (automake's SKIP);
# tests/integration turns it into a pytest skip that prints the reason.
RS_SKIP=77
# The modules the guest needs for virtio-balloon, in load order (dependencies first;
# read from the .modinfo "depends=" strings of the Debian 6.1 kernel).
GUEST_MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_balloon"

export DEBIAN_FRONTEND=noninteractive
_RS_T0=$(date +%s.%N)

rs_now() { date +%s.%N; }

# rs_log MESSAGE: one line on stderr, prefixed with seconds since the script started.
rs_log() {
    printf '[realstack %6.1fs] %s\n' "$(awk -v a="$(rs_now)" -v b="$_RS_T0" 'BEGIN { print a - b }')" "$*" >&2
}

# rs_step LABEL FUNCTION [ARGS...]: run FUNCTION and log how long it took.
rs_step() {
    local label=$1 t0 t1
    shift
    t0=$(rs_now)
    "$@"
    t1=$(rs_now)
    rs_log "$(awk -v a="$t1" -v b="$t0" -v l="$label" 'BEGIN { printf "step %-10s %5.1f s", l, a - b }')"
}

rs_skip() {
    echo "realstack: SKIP: $*" >&2
    exit "$RS_SKIP"
}

rs_die() {
    echo "realstack: ERROR: $*" >&2
    exit 1
}

# rs_detect_virt: print the libvirt domain type to use, "kvm" or "qemu" (TCG).
# KVM only with hardware virtualisation (vmx/svm) and no PVM hypervisor behind /dev/kvm:
# kvm_pvm only runs PVM-enabled guest kernels, and stock Debian kernels die in emulation
# failures under it (see /work/shared/realstack.md §3.2). libvirt's capabilities still
# advertise "kvm" there, so they cannot be trusted for this. MOM_REALSTACK_VIRT overrides.
rs_detect_virt() {
    case "${MOM_REALSTACK_VIRT:-auto}" in
        kvm | qemu) echo "$MOM_REALSTACK_VIRT" ;;
        auto)
            if [ -c /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo && [ ! -d /sys/module/kvm_pvm ]; then
                echo kvm
            else
                echo qemu
            fi
            ;;
        *) rs_die "MOM_REALSTACK_VIRT must be auto, kvm or qemu, not '$MOM_REALSTACK_VIRT'" ;;
    esac
}

# ## a libvirtd of the project's: the same three steps for the local one and the peer

# rs_daemon_alive PIDFILE: the process named in PIDFILE is running.
rs_daemon_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# rs_wait_daemon PIDFILE SOCKET WHAT LOG: wait up to 10 s for the daemon's socket, or die.
rs_wait_daemon() {
    local pidfile=$1 socket=$2 what=$3 log=$4 _
    for _ in $(seq 1 100); do
        rs_daemon_alive "$pidfile" && [ -S "$socket" ] && return 0
        sleep 0.1
    done
    rs_die "$what did not come up within 10 s (no socket $socket); see $log"
}

# rs_stop_daemon PIDFILE WHAT QEMU_PIDFILE...: stop a libvirtd and what is left of its guests.
# QEMU outlives libvirtd: the tests destroy their guests themselves, this catches the ones
# they could not (a crash, kill -9), each by the pid file libvirt keeps for it.  SIGTERM to
# libvirtd, SIGKILL after 10 s.
rs_stop_daemon() {
    local pidfile=$1 what=$2 pid f qpid _
    shift 2
    pid=$(cat "$pidfile")
    for f in "$@"; do
        [ -s "$f" ] || continue
        qpid=$(cat "$f")
        if kill -0 "$qpid" 2>/dev/null; then
            rs_log "$what: killing leftover guest $(basename "$f" .pid) (qemu pid $qpid)"
            kill -TERM "$qpid" || true
        fi
    done
    kill -TERM "$pid"
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        rs_log "$what: pid $pid ignored SIGTERM for 10 s, sending SIGKILL"
        kill -KILL "$pid" || true
    fi
    rm -f "$pidfile"
    rs_log "$what: stopped (pid $pid)"
}
