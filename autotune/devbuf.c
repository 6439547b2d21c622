/* devbuf.c: float buffers on the host mirrored on a backend's device, for
 * validation and timing. */
#include "devbuf.h"

#include <stdlib.h>
#include <string.h>

cb_status cb_devbuf_alloc(cb_ctx *ctx, int64_t count, cb_devbuf *b) {
  memset(b, 0, sizeof *b);
  b->bytes = (size_t)count * sizeof(float);
  b->host = malloc(b->bytes ? b->bytes : sizeof(float));
  if (!b->host) return cb_error(CB_ERR_NOMEM, "cannot allocate %zu bytes", b->bytes);
  if (!ctx->backend->alloc) {
    b->dev = b->host;
    return CB_OK;
  }
  return ctx->backend->alloc(ctx, b->bytes, &b->dev);
}

void cb_devbuf_free(cb_ctx *ctx, cb_devbuf *b) {
  if (b->dev && b->dev != b->host) ctx->backend->free(ctx, b->dev);
  free(b->host);
  memset(b, 0, sizeof *b);
}

cb_status cb_devbuf_upload(cb_ctx *ctx, cb_devbuf *b) {
  return b->dev == b->host ? CB_OK : ctx->backend->upload(ctx, b->dev, b->host, b->bytes);
}

cb_status cb_devbuf_download(cb_ctx *ctx, cb_devbuf *b) {
  return b->dev == b->host ? CB_OK : ctx->backend->download(ctx, b->host, b->dev, b->bytes);
}
