/* util.h: the small helpers every layer of convbench shares: the clock it
 * measures with, wall-clock time as ISO-8601, human-readable byte counts
 * JSON string escaping, and the
 * statistics of a timed series (cb_timing). They live at the lowest layer (kernels/) so
 * that one copy serves the kernels, the autotuner, the harness, the
 * reports and the CLI. */
#ifndef CB_UTIL_H
#define CB_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Statistics of one timed series, in milliseconds: what every timing
 * engine produces and every record stores. */
typedef struct cb_timing {
  double median, min, max, mad; /* mad: median absolute deviation */
  int samples;
} cb_timing;

/* Nanoseconds from an arbitrary fixed point (CLOCK_MONOTONIC, immune to
 * wall-clock steps); never goes backwards. */
uint64_t cb_now_ns(void);

/* Milliseconds between two cb_now_ns() readings. */
static inline double cb_ms(uint64_t start, uint64_t end) {
  return (double)(end - start) * 1e-6;
}

/* The wall clock as unix time in seconds (CLOCK_REALTIME), for records. */
double cb_unix_now(void);

/* Unix time t as ISO-8601 UTC with milliseconds, "2026-12-07T23:43:39.123Z"
 * (the form every timestamp in results.db and cache exports has).
 * buf should hold CB_ISO_TIME_MAX bytes. */
#define CB_ISO_TIME_MAX 32
void cb_iso_time(double t, char *buf, size_t len);

/* cb_iso_time(cb_unix_now()). */
void cb_iso_now(char *buf, size_t len);

/* How cb_format_bytes writes a byte count. */
typedef enum cb_bytes_style {
  CB_BYTES_PROSE,  /* "512 bytes", "2.0 MiB", "117.7 MiB": messages and tables */
  CB_BYTES_COMPACT /* "512B", "48KiB", "23.5GiB": hwloc's form, for topology lines */
} cb_bytes_style;

/* A byte count with binary units (KiB .. EiB). */
void cb_format_bytes(int64_t bytes, cb_bytes_style style, char *buf, size_t len);

/* A newly malloc'ed string formatted as printf would, or NULL when out of
 * memory. The caller frees it. */
char *cb_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes s to f as a JSON string, quotes included: '"' and '\\' escaped,
 * newline, return and tab as \n \r \t, other control characters and DEL
 * as \u00XX (terminals mangle them raw); other bytes (UTF-8) pass through. */
void cb_json_string(FILE *f, const char *s);

#endif
