/* cache.h: the per-shape kernel cache: which backend, variant and
 * parameters won each problem on each device and build, and how it is
 * looked up, shipped and loaded.
 *
 * An entry is keyed by (problem key, device fingerprint, build
 * fingerprint). A changed fingerprint is a miss, never a wrong answer.
 * Lookup order: an exact local entry; an exact imported one; then an entry
 * of the same device generation (same CPU model and ISA, or GPU name and
 * compute capability: another thread count or another build), which the
 * answer marks as borrowed; else a miss, which the caller answers with its
 * heuristic default and says so. Imports keep where they came from and
 * never replace a local measurement. */
#ifndef CB_CACHE_H
#define CB_CACHE_H

#include "gpu.h"
#include "db.h"

/* The device fingerprint measurements are keyed by: the machine's
 * fingerprint plus the thread count, e.g. "cpu:AMD EPYC:avx512:2c:2t". */
void cb_device_fingerprint(const cb_machine *m, int threads, char *buf, size_t len);

/* The device fingerprint of a GPU: "gpu:<name>:sm_<cc>:<SMs>sm", e.g.
 * "gpu:NVIDIA H100 80GB HBM3:sm_90:132sm"; its generation (below) is
 * "gpu:<name>:sm_<cc>". A ':' in the name becomes a space. */
void cb_gpu_fingerprint(const cb_gpu_info *g, char *buf, size_t len);

/* The device generation of a fingerprint: the part that says which
 * hardware, without core and thread counts ("cpu:AMD EPYC:avx512"). */
void cb_device_generation(const char *device_fp, char *buf, size_t len);

typedef enum cb_cache_source {
  CB_CACHE_MISS = 0,
  CB_CACHE_EXACT,    /* measured here, on this device and build */
  CB_CACHE_IMPORTED, /* this device and build, measured elsewhere and imported */
  CB_CACHE_BORROWED, /* the same device generation, another thread count or build */
} cb_cache_source;

const char *cb_cache_source_name(cb_cache_source s); /* "exact", "imported", ... */

/* cb_cache_entry, one entry, is a row type of the database layer (records.h). */

/* Looks p up for this device and build; *source says what was found.
 * CB_OK with CB_CACHE_MISS when nothing matches. */
cb_status cb_cache_lookup(cb_db *db, const cb_problem *p, const char *device_fp,
                          const char *build_fp, cb_cache_entry *out, cb_cache_source *source);

/* Stores a local winner, replacing the previous local entry for the same
 * (key, device, build). */
cb_status cb_cache_put(cb_db *db, const cb_cache_entry *e);

/* Deletes every entry (local and imported) and reports how many. */
cb_status cb_cache_clear(cb_db *db, int64_t *deleted);

/* Calls fn for every entry (key order); fn returning non-zero stops. */
cb_status cb_cache_each(cb_db *db, int (*fn)(const cb_cache_entry *e, void *user), void *user);

/* Writes every entry as one JSON object per line to path (atomically:
 * a temporary file renamed into place), with the machine described. */
cb_status cb_cache_export(cb_db *db, const char *path, const cb_machine *m, int64_t *written);

/* Reads a file written by cb_cache_export. Entries for a (key, device,
 * build) that has a local entry are skipped and counted as kept; others
 * are stored as imported with their origin. A malformed line is an error
 * naming the file and line, and nothing from the file is stored. */
cb_status cb_cache_import(cb_db *db, const char *path, int64_t *imported, int64_t *kept_local);

#endif
