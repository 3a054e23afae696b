/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Kernel side of the per-comm slot tables: struct slot_table in memfd.h. */
#ifndef MEMFD_EXPORTER_SLOTS_BPF_H
#define MEMFD_EXPORTER_SLOTS_BPF_H

#include <stdbool.h>
#include "memfd.h"
#include "maps.bpf.h"

/*
 * Declares the maps of a slot table of key_type keys: NAME_slots, the index
 * (key -> __u32 slot); NAME_slot_keys (slot -> key) and NAME_slot_table (the
 * struct slot_table), both mmapable; NAME_last_slot, this CPU's last slot
 * found (see slot_of()). The loader sets max_entries of the index, the keys
 * and every count array of the table to --bpf.max-comms.
 */
#define SLOT_TABLE(name, key_type)						\
	struct {								\
		__uint(type, BPF_MAP_TYPE_HASH);				\
		__uint(max_entries, 10240);					\
		__type(key, key_type);						\
		__type(value, __u32);						\
	} name##_slots SEC(".maps");						\
	struct {								\
		__uint(type, BPF_MAP_TYPE_ARRAY);				\
		__uint(map_flags, BPF_F_MMAPABLE);				\
		__uint(max_entries, 10240);					\
		__type(key, __u32);						\
		__type(value, key_type);					\
	} name##_slot_keys SEC(".maps");					\
	struct {								\
		__uint(type, BPF_MAP_TYPE_ARRAY);				\
		__uint(map_flags, BPF_F_MMAPABLE);				\
		__uint(max_entries, 1);						\
		__type(key, __u32);						\
		__type(value, struct slot_table);				\
	} name##_slot_table SEC(".maps");					\
	struct {								\
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);			\
		__uint(max_entries, 1);						\
		__type(key, __u32);						\
		__type(value, __u32);						\
	} name##_last_slot SEC(".maps")

/* Declares counts, an mmapable array slot -> __u64 of a slot table. */
#define SLOT_COUNTS(counts)							\
	struct {								\
		__uint(type, BPF_MAP_TYPE_ARRAY);				\
		__uint(map_flags, BPF_F_MMAPABLE);				\
		__uint(max_entries, 10240);					\
		__type(key, __u32);						\
		__type(value, __u64);						\
	} counts SEC(".maps")

/* Whether the key_size bytes at a and b are equal (key_size a constant: unrolled). */
static __always_inline bool same_key(const void *a, const void *b, __u32 key_size)
{
	const unsigned char *x = a, *y = b;
	unsigned char differ = 0;

	/* No early exit, so that the loop unrolls; byte by byte, as a key on the stack may be unaligned. */
#pragma unroll
	for (__u32 i = 0; i < key_size; i++)
		differ |= x[i] ^ y[i];
	return differ == 0;
}

/*
 * Sets *slot to key's slot in a slot table (index: key -> __u32 slot; keys:
 * array slot -> key; table: the struct slot_table; last: this CPU's last
 * slot found), taking the next free slot when key has none. Returns false
 * only when key has no slot and none is left: the caller counts the call as
 * unrecorded. key_size must be a constant (the copy into the keys array and
 * the comparison are unrolled at compile time).
 *
 * Consecutive calls on one CPU mostly come from one thread, so the last slot
 * found is tried first: a published slot's key never changes, so when
 * keys[last] holds key, last is key's slot, and the call costs no hashing.
 * last holds that slot + 1 (0: none yet, as an empty slot's all-zero key
 * could be key), only ever a published slot (never one lost to a race, whose
 * key may be key too), and a __u32 store cannot tear, so a program
 * interleaved with this one can make the guess miss, never wrong.
 */
static __always_inline bool slot_of(void *index, void *keys, void *table_map, void *last, const void *key,
				    __u32 key_size, __u32 *slot)
{
	__u32 zero = 0, taken, *published, *last_slot;
	struct slot_table *table;
	void *slot_key;

	last_slot = bpf_map_lookup_elem(last, &zero);
	if (last_slot && *last_slot) {
		__u32 guess = *last_slot - 1;

		slot_key = bpf_map_lookup_elem(keys, &guess);
		if (slot_key && same_key(slot_key, key, key_size)) {
			*slot = guess;
			return true;
		}
	}
	published = bpf_map_lookup_elem(index, key);
	if (published) {
		*slot = *published;
		goto found;
	}
	table = bpf_map_lookup_elem(table_map, &zero);
	if (!table) /* cannot happen: an array always has index 0 */
		return false;
	/*
	 * Full already: take no number, so that taken cannot run far past the
	 * capacity (and wrap) however many new keys keep coming. It stays below
	 * capacity + CPUs, so the __u32 copies here hold it whole.
	 */
	taken = *(volatile __u64 *)&table->taken;
	if (!bpf_map_lookup_elem(keys, &taken))
		return false;
	taken = __sync_fetch_and_add(&table->taken, 1);
	slot_key = bpf_map_lookup_elem(keys, &taken);
	if (!slot_key) /* other CPUs took the last slots meanwhile */
		return false;
	__builtin_memcpy(slot_key, key, key_size);
	/* Publishes the slot: the kernel links the new element with release semantics, so the key is visible first. */
	if (bpf_map_update_elem(index, key, &taken, BPF_NOEXIST) == 0) {
		*slot = taken;
		goto found;
	}
	/* Another CPU published this key first: count in its slot; ours keeps a count of 0 for good. */
	__sync_fetch_and_add(&table->wasted, 1);
	published = bpf_map_lookup_elem(index, key);
	if (!published)
		return false;
	*slot = *published;
found:
	if (last_slot)
		*last_slot = *slot + 1;
	return true;
}

/*
 * counts[key's slot] (counts: array slot -> __u64), taking a slot for a new
 * key; NULL when key has no slot and none is left.
 */
static __always_inline __u64 *slot_count(void *index, void *keys, void *table_map, void *last, void *counts,
					 const void *key, __u32 key_size)
{
	__u32 slot;

	if (!slot_of(index, keys, table_map, last, key, key_size, &slot))
		return NULL;
	return bpf_map_lookup_elem(counts, &slot); /* never NULL: counts has as many entries as keys */
}

/* Adds 1 to counts[key's slot]. Returns false when key has no slot and none is left. */
static __always_inline bool increment_slot(void *index, void *keys, void *table_map, void *last, void *counts,
					   const void *key, __u32 key_size)
{
	__u64 *count = slot_count(index, keys, table_map, last, counts, key, key_size);

	if (!count)
		return false;
	__sync_fetch_and_add(count, 1);
	return true;
}

/*
 * Adds delta to counts[key's slot] as saturating_add() does (for sums a caller
 * chooses, such as sizes), taking a slot for a new key. Returns what was not
 * added: all of delta when key has no slot and none is left. A slot whose sum
 * is still 0 is not read (struct slot_table): a key that only added 0 shows no
 * count yet.
 */
static __always_inline __u64 saturating_add_slot(void *index, void *keys, void *table_map, void *last, void *counts,
						 const void *key, __u32 key_size, __u64 delta)
{
	__u64 *sum = slot_count(index, keys, table_map, last, counts, key, key_size);

	return sum ? saturating_add(sum, delta) : delta;
}

/* saturating_add_slot() in the slot table declared as SLOT_TABLE(name, ...). */
#define SATURATING_ADD_SLOT(name, counts, key, delta)				\
	saturating_add_slot(&name##_slots, &name##_slot_keys, &name##_slot_table, &name##_last_slot, &(counts), \
			    (key), sizeof(*(key)), (delta))

/* increment_slot() in the slot table declared as SLOT_TABLE(name, ...); key points to its key_type. */
#define INCREMENT_SLOT(name, counts, key)					\
	increment_slot(&name##_slots, &name##_slot_keys, &name##_slot_table, &name##_last_slot, &(counts), (key), \
		       sizeof(*(key)))

#endif /* MEMFD_EXPORTER_SLOTS_BPF_H */
