#ifndef PORTHOLE_CNFTABLES_SHIM_H
#define PORTHOLE_CNFTABLES_SHIM_H

// The kernel's nftables through the system libnftables (Debian: libnftables-dev): one batch of
// nft commands per call, applied by the kernel as one transaction.
#include <nftables/libnftables.h>

#endif
