/* buildinfo.c: what this binary is. The git revision, compiler, flags and
 * kernel source hash come from cb_buildinfo_gen.h (written by
 * cmake/buildinfo.cmake at build time); the library versions are asked of
 * the libraries at run time, since a shared library can change under a
 * binary that was not rebuilt.
 *
 * The build fingerprint keys the tune cache. It covers what changes how
 * fast a kernel runs: the libraries, our kernel sources, the compiler and
 * its flags, and sanitizers. It leaves out the git revision, so a commit
 * that does not touch kernels/ keeps every cached answer. */
#include "buildinfo.h"

#include "cb_buildinfo_gen.h"
#include "sha256.h"

#include <hwloc.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

/* Appends to b->libs, "; "-separated, silently truncating. */
static void add_lib(cb_build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_lib(cb_build *b, const char *fmt, ...) {
  size_t used = strlen(b->libs);
  if (used && used + 2 < sizeof b->libs) {
    memcpy(b->libs + used, "; ", 3);
    used += 2;
  }
  if (used + 1 >= sizeof b->libs) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b->libs + used, sizeof b->libs - used, fmt, ap);
  va_end(ap);
}

static void probe_libs(cb_build *b) {
  b->libs[0] = '\0';
  add_lib(b, "sqlite %s", sqlite3_libversion());
  /* hwloc reports only its API version at run time (2.9.0 has API 2.8.0);
   * the release is the one of the headers we compiled against. */
  unsigned api = hwloc_get_api_version();
  add_lib(b, "hwloc %s (api %u.%u.%u)", HWLOC_VERSION, api >> 16, (api >> 8) & 0xff, api & 0xff);
  add_lib(b, "zlib %s", zlibVersion());
  for (const cb_backend *const *be = cb_backends(); *be; be++) {
    if (!(*be)->version) continue;
    char v[256] = "";
    (*be)->version(v, sizeof v);
    if (v[0]) add_lib(b, "%s", v);
  }
}

cb_status cb_build_probe(cb_build *b) {
  if (!b) return cb_error(CB_ERR_INVALID, "cb_build_probe: no output");
  memset(b, 0, sizeof *b);
  snprintf(b->git_rev, sizeof b->git_rev, "%s", CB_GIT_REV);
  b->git_dirty = CB_GIT_DIRTY != 0;
  snprintf(b->compiler, sizeof b->compiler, "%s", CB_COMPILER);
  snprintf(b->flags, sizeof b->flags, "%s", CB_C_FLAGS);
  snprintf(b->build_type, sizeof b->build_type, "%s", CB_BUILD_TYPE);
  snprintf(b->kernel_hash, sizeof b->kernel_hash, "%s", CB_KERNEL_HASH);
  probe_libs(b);

  /* Labelled fields, one per line, so that moving text from one field to
   * the next cannot give the same input. 16 hex digits (64 bits) of the
   * SHA-256 are short enough to read in a report and far too many for two
   * builds to collide by accident. */
  char in[2048], hex[65];
  snprintf(in, sizeof in,
           "libs=%s\nkernels=%s\nsanitize=%s\ncompiler=%s\nbuild_type=%s\nflags=%s\n", b->libs,
           b->kernel_hash, CB_SANITIZE, b->compiler, b->build_type, b->flags);
  cb_sha256 h;
  cb_sha256_init(&h);
  cb_sha256_update(&h, in, strlen(in));
  cb_sha256_final_hex(&h, hex);
  snprintf(b->fingerprint, sizeof b->fingerprint, "%.16s", hex);
  return CB_OK;
}
