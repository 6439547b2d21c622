/* buildinfo.h: what this binary is: git revision, compiler, flags, library
 * versions and a hash of the kernel sources. Its fingerprint keys the tune
 * cache, so a rebuilt kernel never reuses an old answer. */
#ifndef CB_BUILDINFO_H
#define CB_BUILDINFO_H

#include "records.h" /* cb_build (a row of the builds table) */

/* Fills b from the values CMake generated and the libraries' run-time versions. */
cb_status cb_build_probe(cb_build *b);

#endif
