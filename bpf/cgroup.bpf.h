/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-cgroup counts that survive cgroup churn. A map keyed by cgroup v2 id
 * would fill with the ids of removed cgroups on a host that creates and
 * removes pods: each object with such maps attaches a program to
 * cgroup:cgroup_rmdir that retires the removed cgroup's entries, moving their
 * counts to a per-family "removed" total and freeing the slots, so that
 *   sum(map) + removed + unrecorded == observed
 * holds however many cgroups come and go.
 *
 * The race: a task reads its cgroup id, another process migrates it away
 * and removes the (now empty) cgroup, and only then does the task add to the
 * entry it looked up. retire_cgroup() swaps CGROUP_RETIRED into the entry
 * before deleting it; an add that lands on a retired entry sees the flag in
 * the value it replaced and counts itself as removed (the entry's count is
 * gone with it). Should the deleted entry's memory be reused for another
 * cgroup before that late add (hash map elements are recycled without
 * waiting), the call is counted under that cgroup: misattributed, never lost.
 * A late add that finds no entry creates one for the removed cgroup, which is
 * then named "(unknown)": no count is lost there either.
 */
#ifndef MEMFD_EXPORTER_CGROUP_BPF_H
#define MEMFD_EXPORTER_CGROUP_BPF_H

#include "maps.bpf.h"

/* Set in the value of a retired entry; counts of events never reach 2^63. */
#define CGROUP_RETIRED (1ULL << 63)
/* cgroup_rmdir's root field for the cgroup v2 hierarchy (cgrp_dfl_root); v1 hierarchies count from 1. */
#define CGROUP2_HIERARCHY 0

enum cgroup_count {
	CGROUP_COUNTED,    /* in map[cgroup] */
	CGROUP_REMOVED,    /* the cgroup was removed meanwhile: count it in the family's removed total */
	CGROUP_UNRECORDED, /* the map is full: count it in the family's unrecorded total */
};

/* Adds delta to map[cgroup], creating the entry when absent. */
static __always_inline enum cgroup_count count_in_cgroup(void *map, __u64 cgroup, __u64 delta)
{
	bool created;
	__u64 *count = counter_of(map, &cgroup, delta, &created);

	if (created)
		return CGROUP_COUNTED;
	if (!count)
		return CGROUP_UNRECORDED;
	return __sync_fetch_and_add(count, delta) & CGROUP_RETIRED ? CGROUP_REMOVED : CGROUP_COUNTED;
}

/* count_in_cgroup(), adding what the map did not count to the family's *removed or *unrecorded total. */
static __always_inline void add_to_cgroup(void *map, __u64 cgroup, __u64 delta, __u64 *removed, __u64 *unrecorded)
{
	switch (count_in_cgroup(map, cgroup, delta)) {
	case CGROUP_REMOVED:
		__sync_fetch_and_add(removed, delta);
		break;
	case CGROUP_UNRECORDED:
		__sync_fetch_and_add(unrecorded, delta);
		break;
	default:
		break;
	}
}

/* A per-cgroup sum of sizes stops here: the bit above is CGROUP_RETIRED. */
#define CGROUP_SUM_MAX (CGROUP_RETIRED - 1)

/*
 * Adds bytes, a size a caller chose (up to 2^63 - 1 each), to map[cgroup]:
 * the sum stops at CGROUP_SUM_MAX instead of running into CGROUP_RETIRED.
 * *lost is what a CGROUP_COUNTED add could not add (the sum stopped, or other
 * CPUs changed it CAS_TRIES times in a row); callers count it as unrecorded.
 */
static __always_inline enum cgroup_count sum_in_cgroup(void *map, __u64 cgroup, __u64 bytes, __u64 *lost)
{
	__u64 first = bytes > CGROUP_SUM_MAX ? CGROUP_SUM_MAX : bytes;
	bool created;
	__u64 *sum = counter_of(map, &cgroup, first, &created);
	__u64 old;

	*lost = 0;
	if (created) {
		*lost = bytes - first;
		return CGROUP_COUNTED;
	}
	if (!sum)
		return CGROUP_UNRECORDED;
	old = *(volatile __u64 *)sum;
	for (int i = 0; i < CAS_TRIES; i++) {
		__u64 next, seen;

		if (old & CGROUP_RETIRED)
			return CGROUP_REMOVED;
		/* old <= CGROUP_SUM_MAX and bytes < 2^64 - old: no wrap. */
		next = bytes > CGROUP_SUM_MAX - old ? CGROUP_SUM_MAX : old + bytes;
		seen = __sync_val_compare_and_swap(sum, old, next);
		if (seen == old) {
			*lost = bytes - (next - old);
			return CGROUP_COUNTED;
		}
		old = seen;
	}
	*lost = bytes;
	return CGROUP_COUNTED;
}

/*
 * Moves map[cgroup]'s count to *removed and frees the entry; *removed
 * saturates (saturating_add) when the map holds sums of sizes (sum_in_cgroup).
 */
static __always_inline void retire_entry(void *map, __u64 cgroup, __u64 *removed, bool saturate)
{
	__u64 *count = bpf_map_lookup_elem(map, &cgroup);
	__u64 old;

	if (!count)
		return;
	old = __sync_lock_test_and_set(count, CGROUP_RETIRED);
	if (!(old & CGROUP_RETIRED)) { /* else another retire moved it, and late adds counted themselves */
		if (saturate)
			saturating_add(removed, old);
		else
			__sync_fetch_and_add(removed, old);
	}
	bpf_map_delete_elem(map, &cgroup);
}

/* retire_entry() for a map of counts (count_in_cgroup). */
static __always_inline void retire_cgroup(void *map, __u64 cgroup, __u64 *removed)
{
	retire_entry(map, cgroup, removed, false);
}

/* retire_entry() for a map of sums of sizes (sum_in_cgroup). */
static __always_inline void retire_cgroup_sum(void *map, __u64 cgroup, __u64 *removed)
{
	retire_entry(map, cgroup, removed, true);
}

#endif /* MEMFD_EXPORTER_CGROUP_BPF_H */
