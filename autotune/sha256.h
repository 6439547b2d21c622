/* sha256.h: SHA-256 (FIPS 180-4), for fingerprints of builds and netdefs
 * that must not collide by accident and must match `sha256sum`. */
#ifndef CB_SHA256_H
#define CB_SHA256_H

#include "kernels.h"

typedef struct cb_sha256 {
  uint32_t h[8];
  uint64_t bytes;
  unsigned char buf[64];
  size_t used;
} cb_sha256;

void cb_sha256_init(cb_sha256 *c);
void cb_sha256_update(cb_sha256 *c, const void *data, size_t len);
/* Writes 64 lower-case hex digits and a NUL into hex. */
void cb_sha256_final_hex(cb_sha256 *c, char hex[65]);

/* SHA-256 of a file's bytes; CB_ERR_IO naming the file when unreadable. */
cb_status cb_sha256_file(const char *path, char hex[65]);

#endif
