/* buildinfo.h: what this binary is: git revision, compiler, flags, library
 * versions and a hash of the kernel sources. Its fingerprint keys the tune
 * cache, so a rebuilt kernel never reuses an old answer. */
#ifndef CB_BUILDINFO_H
#define CB_BUILDINFO_H

#include "kernels.h"

typedef struct cb_build {
  char git_rev[48];      /* commit hash, "unknown" outside git */
  bool git_dirty;        /* built from a tree with uncommitted changes */
  char compiler[128];    /* "GNU 12.2.0" */
  char flags[512];       /* C flags of the build type */
  char build_type[32];   /* Release, Debug, ... */
  char libs[1024];       /* "sqlite 3.40.1; hwloc 2.9.0; zlib 1.2.13; <backend versions>" */
  char kernel_hash[72];  /* sha256 of kernels/ sources at build time */
  char fingerprint[160]; /* sha256-derived: libs + kernel_hash */
} cb_build;

/* Fills b from the values CMake generated and the libraries' run-time versions. */
cb_status cb_build_probe(cb_build *b);

#endif
