/* local_index.h: the names of /etc/passwd and /etc/group, read once per change of those files. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_LOCAL_INDEX_H
#define PAM_JWT_LOCAL_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Every login checks its username and group names against the local account files. Reading them each time
 * made every login scan them; instead their names (case-folded, sorted) and group ids are kept in
 * state_dir/local.cache together with the files' identity (device, inode, size, mtime, ctime), like git's
 * index keeps a stat of each file. A login stats the two files and reads the cache; only when either
 * changed (or the cache is missing, damaged or untrusted) are they read again and the cache rewritten
 * (atomically). A file changed within the last LOCAL_INDEX_RACY_NS before the read is not cached: a change
 * in the same timestamp tick would not show in its stat ("racy git").
 *
 * uids and gids handed out must also avoid the local ids and the /etc/subuid, /etc/subgid ranges: those
 * are read (idmap_local_load) only when an id is assigned. */

struct local_index {
	unsigned char *data; /* the cache file's contents (validated), malloc'd */
	size_t len;
	const struct li_entry *entries;
	uint32_t n;
	const char *strings;
	uint32_t strings_len;
};

/* The index for passwd_path and group_path (NULL: /etc/passwd, /etc/group), from state_dir's cache when
 * it still describes them, else read from the files (and cached when state_dir is trusted). */
pj_status local_index_open(const char *state_dir, const char *passwd_path, const char *group_path,
                           struct local_index *li, struct pj_error *err);

/* Whether name is a user or group of the local files, ignoring ASCII case (as sudo compares). */
bool local_index_name(const struct local_index *li, const char *name);

/* The gid of the local group called exactly name: true and *gid, or false. */
bool local_index_group(const struct local_index *li, const char *name, uint32_t *gid);

void local_index_free(struct local_index *li);

#endif
