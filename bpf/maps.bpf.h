/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Kernel-side helpers every program here uses: exact counting into maps. */
#ifndef MEMFD_EXPORTER_MAPS_BPF_H
#define MEMFD_EXPORTER_MAPS_BPF_H

#include <stdbool.h>
#include "memfd.h"

/*
 * Adds delta to map[key], creating the entry when absent. Returns false only
 * when the entry could not be created (the map is full): callers count that.
 */
static __always_inline bool add_to(void *map, const void *key, __u64 delta)
{
	__u64 *count;

	count = bpf_map_lookup_elem(map, key);
	if (count) {
		__sync_fetch_and_add(count, delta);
		return true;
	}
	if (bpf_map_update_elem(map, key, &delta, BPF_NOEXIST) == 0)
		return true;
	/* Another CPU created the entry between our lookup and update. */
	count = bpf_map_lookup_elem(map, key);
	if (count) {
		__sync_fetch_and_add(count, delta);
		return true;
	}
	return false;
}

static __always_inline bool increment(void *map, const void *key)
{
	return add_to(map, key, 1);
}

/* The log2_histogram slot of a value: 0 for 0, else 1 + ceil(log2(value)). */
static __always_inline __u32 log2_slot(__u64 value)
{
	__u32 slot = 1;
	__u64 bound = 1;

	if (value == 0)
		return 0;
	/* Bounded loop: the verifier accepts 64 iterations. */
	for (int i = 0; i < 64 && bound < value; i++) {
		bound <<= 1;
		slot++;
	}
	return slot;
}

/* Records one observation; atomic, so any number of CPUs may observe at once. */
static __always_inline void log2_observe(struct log2_histogram *histogram, __u64 value)
{
	__u32 slot = log2_slot(value);

	if (slot < LOG2_SLOTS)
		__sync_fetch_and_add(&histogram->slots[slot], 1);
	__sync_fetch_and_add(&histogram->sum, value);
}

#endif /* MEMFD_EXPORTER_MAPS_BPF_H */
