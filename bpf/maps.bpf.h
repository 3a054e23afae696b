/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Kernel-side helpers every program here uses: exact counting into maps. */
#ifndef MEMFD_EXPORTER_MAPS_BPF_H
#define MEMFD_EXPORTER_MAPS_BPF_H

#include <stdbool.h>
#include "memfd.h"

#define U64_MAX (~0ULL)
/* Compare-and-swap attempts before saturating_add() gives up under contention. */
#define CAS_TRIES 16

/*
 * map[key], or NULL when it was absent: then it has been created with value
 * init (*created = true), or could not be because the map is full (*created = false).
 */
static __always_inline __u64 *counter_of(void *map, const void *key, __u64 init, bool *created)
{
	__u64 *count;

	*created = false;
	count = bpf_map_lookup_elem(map, key);
	if (count)
		return count;
	if (bpf_map_update_elem(map, key, &init, BPF_NOEXIST) == 0) {
		*created = true;
		return NULL;
	}
	/* Another CPU created the entry between our lookup and update. */
	return bpf_map_lookup_elem(map, key);
}

/*
 * Adds delta to *counter but stops at U64_MAX instead of wrapping: a sum of
 * sizes a caller chooses (ftruncate accepts up to 2^63 - 1) would otherwise
 * wrap in two calls and run backwards. Returns what was not added: the excess
 * over U64_MAX, or all of delta when other CPUs changed the counter between
 * our read and our swap CAS_TRIES times in a row. Callers count it.
 */
static __always_inline __u64 saturating_add(__u64 *counter, __u64 delta)
{
	__u64 old = *(volatile __u64 *)counter;

	for (int i = 0; i < CAS_TRIES; i++) {
		__u64 sum = old + delta < old ? U64_MAX : old + delta;
		__u64 seen = __sync_val_compare_and_swap(counter, old, sum);

		if (seen == old)
			return delta - (sum - old);
		old = seen;
	}
	return delta;
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

/* Counts one observation in its bucket; atomic, so any number of CPUs may observe at once. */
static __always_inline void log2_count(struct log2_histogram *histogram, __u64 value)
{
	__u32 slot = log2_slot(value);

	if (slot < LOG2_SLOTS)
		__sync_fetch_and_add(&histogram->slots[slot], 1);
}

/* Records one observation that is a count of events: the sum cannot reach 2^64 (one per nanosecond for 584 years). */
static __always_inline void log2_observe(struct log2_histogram *histogram, __u64 value)
{
	log2_count(histogram, value);
	__sync_fetch_and_add(&histogram->sum, value);
}

/*
 * Records one observation that a caller chose (a size): the sum saturates
 * (saturating_add). Returns the part of value the sum could not add.
 */
static __always_inline __u64 log2_observe_saturating(struct log2_histogram *histogram, __u64 value)
{
	log2_count(histogram, value);
	return saturating_add(&histogram->sum, value);
}

#endif /* MEMFD_EXPORTER_MAPS_BPF_H */
