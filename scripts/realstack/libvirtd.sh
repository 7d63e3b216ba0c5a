#!/usr/bin/env bash
# Start, stop or query the libvirtd the real-guest tests use, without systemd:
#   libvirtd.sh start    start `libvirtd -d` with its pid file in $STACK_DIR, unless one runs already
#   libvirtd.sh stop     stop the libvirtd this script started (by that pid file) and nothing else
#   libvirtd.sh status   exit 0 if our libvirtd runs
# A libvirtd that something else started (a system service) is used as it is and left running.
# Its log (warnings and errors): $STACK_DIR/libvirtd.log. QEMU's own: /var/log/libvirt/qemu/<name>.log.
. "$(dirname "$0")/lib.sh"

SOCKET=/run/libvirt/libvirt-sock
# Guests the tests name $MOM_REALSTACK_PREFIX* (see tests/integration/realstack.py).
PREFIX=${MOM_REALSTACK_PREFIX:-mom-rs-}

ours_running() { rs_daemon_alive "$LIBVIRTD_PIDFILE"; }

do_start() {
    if ours_running; then
        rs_log "libvirtd: already running (pid $(cat "$LIBVIRTD_PIDFILE"), started by the project)"
        return
    fi
    local other
    other=$(pgrep -x libvirtd | tr '\n' ' ' || true)
    if [ -n "$other" ]; then
        rs_log "libvirtd: using the running libvirtd (pid $other) that the project did not start; it stays running"
        return
    fi
    command -v libvirtd >/dev/null || rs_die "libvirtd is not installed: run scripts/realstack/provision.sh"
    mkdir -p "$STACK_DIR"
    rm -f "$LIBVIRTD_PIDFILE"
    # Level 3 = warnings and errors; the default (stderr) would be lost after -d.
    LIBVIRT_LOG_OUTPUTS="3:file:$STACK_DIR/libvirtd.log" \
        libvirtd -d -p "$LIBVIRTD_PIDFILE" </dev/null >>"$STACK_DIR/libvirtd.log" 2>&1 ||
        rs_die "libvirtd failed to start; see $STACK_DIR/libvirtd.log"
    rs_wait_daemon "$LIBVIRTD_PIDFILE" "$SOCKET" libvirtd "$STACK_DIR/libvirtd.log"
    rs_log "libvirtd: started (pid $(cat "$LIBVIRTD_PIDFILE")), socket $SOCKET"
}

do_stop() {
    if ! ours_running; then
        rm -f "$LIBVIRTD_PIDFILE"
        rs_log "libvirtd: none of ours running"
        return
    fi
    rs_stop_daemon "$LIBVIRTD_PIDFILE" libvirtd /run/libvirt/qemu/"$PREFIX"*.pid
}

case "${1:-}" in
    start) do_start ;;
    stop) do_stop ;;
    status) ours_running ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
