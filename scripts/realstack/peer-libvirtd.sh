#!/usr/bin/env bash
# A second libvirtd on this machine, the migration peer of the real-guest tests:
#   peer-libvirtd.sh start    start it (own mount + UTS namespace, own host_uuid, own dirs)
#   peer-libvirtd.sh stop     destroy/undefine its guests, stop it by its pid file
#   peer-libvirtd.sh uri      print its URI (qemu+unix:///system?socket=...)
#
# libvirtd as root uses fixed paths (/etc/libvirt, /run/libvirt, /var/lib/libvirt,
# /var/cache/libvirt, /var/log/libvirt): the peer runs in a private mount namespace where
# those are bind-mounted from $STACK_DIR/peer/, with a host_uuid of its own (the same UUID
# would make libvirt refuse "migrate guest to the same host") and its own incoming
# migration ports.  The network namespace is shared: migration data goes over
# tcp://127.0.0.1.  Clients outside reach it through the bind source of its socket.
# (After /work/shared/migration-recipe.sh and realstack.md section 6.)
. "$(dirname "$0")/lib.sh"

PEER_DIR=$STACK_DIR/peer
PEER_PIDFILE=$PEER_DIR/libvirtd.pid
PEER_SOCKET=$PEER_DIR/run/libvirt-sock
PEER_UUID=6d1f0a2c-2222-4a5b-9c3d-0000000000b2
PEER_PORTS="49172 49191"

alive() { rs_daemon_alive "$PEER_PIDFILE"; }

write_configs() {
    local pmin pmax
    read -r pmin pmax <<<"$PEER_PORTS"
    mkdir -p "$PEER_DIR"/etc/qemu "$PEER_DIR"/etc/nwfilter "$PEER_DIR"/etc/secrets \
        "$PEER_DIR"/run "$PEER_DIR"/lib "$PEER_DIR"/cache "$PEER_DIR"/log
    cat >"$PEER_DIR/etc/qemu.conf" <<CONF
# peer-libvirtd.sh: the migration peer
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
stdio_handler = "file"
migration_port_min = $pmin
migration_port_max = $pmax
CONF
    cat >"$PEER_DIR/etc/libvirtd.conf" <<CONF
# peer-libvirtd.sh: the migration peer
host_uuid = "$PEER_UUID"
log_outputs = "3:file:$PEER_DIR/libvirtd.log"
CONF
}

do_start() {
    if alive; then
        rs_log "peer libvirtd: already running (pid $(cat "$PEER_PIDFILE"))"
        return
    fi
    command -v libvirtd >/dev/null || rs_die "libvirtd is not installed: run scripts/realstack/provision.sh"
    command -v unshare >/dev/null || { rs_log "peer libvirtd: no unshare (util-linux)"; exit "$RS_SKIP"; }
    write_configs
    rm -f "$PEER_PIDFILE" "$PEER_SOCKET" "$PEER_SOCKET"-ro "$PEER_SOCKET"-admin
    # libvirtd -d forks: the daemon and its QEMUs stay in the namespace, which goes with them
    unshare --mount --uts --propagation private /bin/sh -ec "
        hostname mom-peer
        mount --bind '$PEER_DIR/etc'   /etc/libvirt
        mount --bind '$PEER_DIR/run'   /run/libvirt
        mount --bind '$PEER_DIR/lib'   /var/lib/libvirt
        mount --bind '$PEER_DIR/cache' /var/cache/libvirt
        mount --bind '$PEER_DIR/log'   /var/log/libvirt
        exec libvirtd -d -f '$PEER_DIR/etc/libvirtd.conf' -p '$PEER_PIDFILE'
    " </dev/null >>"$PEER_DIR/libvirtd.stdout" 2>&1 ||
        rs_die "peer libvirtd failed to start; see $PEER_DIR/libvirtd.log and libvirtd.stdout"
    rs_wait_daemon "$PEER_PIDFILE" "$PEER_SOCKET" "peer libvirtd" "$PEER_DIR/libvirtd.log"
    rs_log "peer libvirtd: pid $(cat "$PEER_PIDFILE"), uri qemu+unix:///system?socket=$PEER_SOCKET"
}

do_stop() {
    if ! alive; then
        rs_log "peer libvirtd: not running"
        rm -f "$PEER_PIDFILE"
        return
    fi
    rs_stop_daemon "$PEER_PIDFILE" "peer libvirtd" "$PEER_DIR"/run/qemu/*.pid
    rm -rf "$PEER_DIR/lib/qemu" "$PEER_DIR/etc/qemu"/*.xml
}

case ${1:-} in
start) do_start ;;
stop) do_stop ;;
uri) echo "qemu+unix:///system?socket=$PEER_SOCKET" ;;
*)
    echo "usage: $0 start|stop|uri" >&2
    exit 2
    ;;
esac
