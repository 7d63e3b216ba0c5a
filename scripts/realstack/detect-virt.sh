#!/usr/bin/env bash
# Print the libvirt domain type the real guests use here: "kvm" or "qemu" (TCG).
# Rules in lib.sh (rs_detect_virt); MOM_REALSTACK_VIRT=kvm|qemu overrides.
. "$(dirname "$0")/lib.sh"
rs_detect_virt
