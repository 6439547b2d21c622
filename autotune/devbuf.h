/* devbuf.h: a float buffer on the host and its mirror on a backend's
 * device (the same memory for a host backend), which validation and
 * timing run kernels on. */
#ifndef CB_DEVBUF_H
#define CB_DEVBUF_H

#include "kernels.h"

typedef struct cb_devbuf {
  float *host;
  void *dev; /* == host for host backends */
  size_t bytes;
} cb_devbuf;

/* count floats on the host and, for a device backend, on ctx's device. */
cb_status cb_devbuf_alloc(cb_ctx *ctx, int64_t count, cb_devbuf *b);
/* Frees both sides and zeroes b; a zeroed b is a no-op. */
void cb_devbuf_free(cb_ctx *ctx, cb_devbuf *b);
/* Host to device and back; no-ops on a host backend. */
cb_status cb_devbuf_upload(cb_ctx *ctx, cb_devbuf *b);
cb_status cb_devbuf_download(cb_ctx *ctx, cb_devbuf *b);

#endif
