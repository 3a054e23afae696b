/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Kernel side of the per-comm slot tables: struct slot_table in memfd.h. */
#ifndef MEMFD_EXPORTER_SLOTS_BPF_H
#define MEMFD_EXPORTER_SLOTS_BPF_H

#include <stdbool.h>
#include "memfd.h"

/*
 * Sets *slot to comm's slot in a slot table (index: comm -> __u32 slot;
 * comms: array slot -> struct comm_key; table: the struct slot_table), taking
 * the next free slot when comm has none. Returns false only when comm has no
 * slot and none is left: the caller counts the call as unrecorded.
 */
static __always_inline bool comm_slot(void *index, void *comms, void *table_map, const struct comm_key *comm,
				      __u32 *slot)
{
	__u32 zero = 0, taken, *published;
	struct slot_table *table;
	struct comm_key *slot_comm;

	published = bpf_map_lookup_elem(index, comm);
	if (published) {
		*slot = *published;
		return true;
	}
	table = bpf_map_lookup_elem(table_map, &zero);
	if (!table) /* cannot happen: an array always has index 0 */
		return false;
	/*
	 * Full already: take no number, so that taken cannot run far past the
	 * capacity (and wrap) however many new comms keep calling.
	 */
	taken = *(volatile __u64 *)&table->taken;
	if (!bpf_map_lookup_elem(comms, &taken))
		return false;
	taken = __sync_fetch_and_add(&table->taken, 1);
	slot_comm = bpf_map_lookup_elem(comms, &taken);
	if (!slot_comm) /* other CPUs took the last slots meanwhile */
		return false;
	__builtin_memcpy(slot_comm, comm, sizeof(*slot_comm));
	/* Publishes the slot: the kernel links the new element with release semantics, so the comm is visible first. */
	if (bpf_map_update_elem(index, comm, &taken, BPF_NOEXIST) == 0) {
		*slot = taken;
		return true;
	}
	/* Another CPU published this comm first: count in its slot; ours keeps a count of 0 for good. */
	__sync_fetch_and_add(&table->wasted, 1);
	published = bpf_map_lookup_elem(index, comm);
	if (!published)
		return false;
	*slot = *published;
	return true;
}

#endif /* MEMFD_EXPORTER_SLOTS_BPF_H */
