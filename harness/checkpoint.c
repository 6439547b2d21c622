/* checkpoint.c: the checkpoint file (docs/checkpoint.md): a header naming
 * every parameter tensor with its layer, index and shape, the fp32 data in
 * the same order, and a CRC-32 of everything before it. Integers and
 * floats are little-endian on disk whatever the host. */
#include "checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define DTYPE_F32LE 1
#define NAME_LIMIT  65535 /* names are stored with a 16-bit length */

/* ---- little-endian writing, with a running CRC ----------------------------- */

typedef struct writer {
  FILE *f;
  uLong crc;
  bool failed;
} writer;

static void put(writer *w, const void *p, size_t n) {
  if (w->failed || n == 0) return;
  if (fwrite(p, 1, n, w->f) != n) w->failed = true;
  w->crc = crc32(w->crc, p, (uInt)n);
}

static void put_u(writer *w, uint64_t v, int bytes) {
  uint8_t b[8];
  for (int i = 0; i < bytes; i++) b[i] = (uint8_t)(v >> (8 * i));
  put(w, b, (size_t)bytes);
}

static void put_f64(writer *w, double d) {
  uint64_t v;
  memcpy(&v, &d, sizeof v);
  put_u(w, v, 8);
}

static void put_name(writer *w, const char *s) {
  size_t n = strlen(s);
  put_u(w, n, 2);
  put(w, s, n);
}

/* fp32 values in little-endian order, a block at a time. */
static void put_floats(writer *w, const float *x, int64_t n) {
  uint8_t buf[4096];
  for (int64_t i = 0; i < n;) {
    size_t k = 0;
    for (; k + 4 <= sizeof buf && i < n; i++, k += 4) {
      uint32_t v;
      memcpy(&v, &x[i], 4);
      for (int j = 0; j < 4; j++) buf[k + j] = (uint8_t)(v >> (8 * j));
    }
    put(w, buf, k);
  }
}

static int count_tensors(const cb_net *net) {
  int n = 0;
  for (int i = 0; i < net->nlayers; i++) n += net->layers[i].nparams;
  return n;
}

static void write_all(writer *w, const cb_net *net, const cb_ckpt_meta *meta) {
  put(w, CB_CKPT_MAGIC, 8);
  put_u(w, CB_CKPT_VERSION, 4);
  put_u(w, DTYPE_F32LE, 4);
  put_u(w, (uint64_t)count_tensors(net), 4);
  put_u(w, 0, 4); /* flags, none yet */
  put_f64(w, meta ? meta->mean : 0.0);
  put_f64(w, meta ? meta->sd : 1.0);
  put_name(w, net->name);
  for (int i = 0; i < net->nlayers; i++) {
    const cb_layer *l = &net->layers[i];
    for (int p = 0; p < l->nparams; p++) {
      const cb_tensor *t = &l->params[p];
      put_name(w, l->name);
      put_name(w, t->name);
      put_u(w, (uint64_t)p, 4);
      put_u(w, l->learnable[p], 4);
      put_u(w, (uint64_t)t->n, 8), put_u(w, (uint64_t)t->c, 8);
      put_u(w, (uint64_t)t->h, 8), put_u(w, (uint64_t)t->w, 8);
    }
  }
  for (int i = 0; i < net->nlayers; i++)
    for (int p = 0; p < net->layers[i].nparams; p++) {
      const cb_tensor *t = &net->layers[i].params[p];
      put_floats(w, t->data, cb_tensor_count(t));
    }
  uLong crc = w->crc;
  put_u(w, crc, 4);
}

cb_status cb_checkpoint_save(const char *path, const cb_net *net, const cb_ckpt_meta *meta) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path) >= (int)sizeof tmp)
    return cb_error(CB_ERR_IO, "%s: path too long", path);
  int fd = mkstemp(tmp);
  if (fd < 0) return cb_error(CB_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
  writer w = {.f = fdopen(fd, "wb"), .crc = crc32(0, NULL, 0)};
  if (!w.f) {
    close(fd);
    unlink(tmp);
    return cb_error(CB_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
  }
  write_all(&w, net, meta);
  int err = w.failed ? errno : 0;
  if (fclose(w.f) != 0 && !err) err = errno ? errno : EIO;
  if (!err && w.failed) err = EIO;
  if (!err) fchmod(fd, 0644); /* mkstemp's 0600 is surprising for a results file */
  if (err || rename(tmp, path) != 0) {
    if (!err) err = errno;
    unlink(tmp);
    return cb_error(CB_ERR_IO, "%s: cannot write: %s", path, strerror(err));
  }
  chmod(path, 0644);
  return CB_OK;
}

/* ---- reading ------------------------------------------------------------------- */

typedef struct reader {
  const char *path;
  const uint8_t *buf;
  size_t len, pos;
} reader;

static cb_status truncated(const reader *r, const char *what) {
  return cb_error(CB_ERR_PARSE,
                  "%s: truncated checkpoint: the %s at offset %zu runs past the end "
                  "(%zu bytes)",
                  r->path, what, r->pos, r->len);
}

static cb_status get_u(reader *r, int bytes, const char *what, uint64_t *v) {
  *v = 0;
  if (r->len - r->pos < (size_t)bytes) return truncated(r, what);
  for (int i = 0; i < bytes; i++) *v |= (uint64_t)r->buf[r->pos + (size_t)i] << (8 * i);
  r->pos += (size_t)bytes;
  return CB_OK;
}

static cb_status get_f64(reader *r, const char *what, double *d) {
  uint64_t v = 0;
  cb_status st = get_u(r, 8, what, &v);
  memcpy(d, &v, sizeof *d);
  return st;
}

static cb_status get_name(reader *r, const char *what, char *out, size_t cap) {
  uint64_t n = 0;
  cb_status st = get_u(r, 2, what, &n);
  if (st != CB_OK) return st;
  if (r->len - r->pos < n) return truncated(r, what);
  if (n >= cap)
    return cb_error(CB_ERR_PARSE, "%s: %s at offset %zu is %llu bytes long (at most %zu)", r->path,
                    what, r->pos, (unsigned long long)n, cap - 1);
  memcpy(out, r->buf + r->pos, n);
  out[n] = '\0';
  r->pos += n;
  return CB_OK;
}

/* One parameter tensor as the file describes it. */
typedef struct entry {
  char layer[CB_NAME_MAX], name[CB_NAME_MAX];
  uint32_t index;
  int64_t shape[4];
  size_t offset; /* of its data in the file */
} entry;

static cb_status read_file(const char *path, uint8_t **buf, size_t *len) {
  *buf = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return cb_error(CB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    fclose(f);
    return cb_error(CB_ERR_IO, "%s: not a regular file", path);
  }
  *len = (size_t)sb.st_size;
  *buf = malloc(*len ? *len : 1);
  if (!*buf) {
    fclose(f);
    return cb_error(CB_ERR_NOMEM, "%s: cannot allocate %zu bytes to read it", path, *len);
  }
  size_t got = fread(*buf, 1, *len, f);
  fclose(f);
  if (got != *len) return cb_error(CB_ERR_IO, "%s: read error", path);
  return CB_OK;
}

/* Reads the header and the entries, and checks sizes and the CRC. */
static cb_status parse(reader *r, cb_ckpt_meta *meta, entry **entries, uint32_t *count) {
  *entries = NULL;
  if (r->len < 8 || memcmp(r->buf, CB_CKPT_MAGIC, 8) != 0)
    return cb_error(CB_ERR_PARSE, "%s: not a convbench checkpoint (no magic number \"CBCKPT\")",
                    r->path);
  r->pos = 8;
  uint64_t version = 0, dtype = 0, n = 0, flags = 0;
  cb_status st;
  if ((st = get_u(r, 4, "version", &version)) != CB_OK) return st;
  if (version != CB_CKPT_VERSION)
    return cb_error(CB_ERR_PARSE, "%s: checkpoint version %llu; this convbench reads version %d",
                    r->path, (unsigned long long)version, CB_CKPT_VERSION);
  if ((st = get_u(r, 4, "dtype", &dtype)) != CB_OK || (st = get_u(r, 4, "count", &n)) != CB_OK ||
      (st = get_u(r, 4, "flags", &flags)) != CB_OK ||
      (st = get_f64(r, "mean", &meta->mean)) != CB_OK ||
      (st = get_f64(r, "sd", &meta->sd)) != CB_OK ||
      (st = get_name(r, "net name", meta->net, sizeof meta->net)) != CB_OK)
    return st;
  if (dtype != DTYPE_F32LE)
    return cb_error(CB_ERR_PARSE, "%s: dtype %llu; this convbench reads 1 (fp32 little-endian)",
                    r->path, (unsigned long long)dtype);
  if (n > r->len / 32) /* every entry takes more than 32 bytes */
    return cb_error(CB_ERR_PARSE,
                    "%s: truncated checkpoint: the header names %llu tensors, more than %zu bytes "
                    "can hold",
                    r->path, (unsigned long long)n, r->len);
  entry *e = calloc(n ? n : 1, sizeof *e);
  if (!e) return cb_error(CB_ERR_NOMEM, "%s: out of memory", r->path);
  *entries = e;
  *count = (uint32_t)n;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t v = 0, learnable = 0;
    if ((st = get_name(r, "layer name", e[i].layer, sizeof e[i].layer)) != CB_OK ||
        (st = get_name(r, "parameter name", e[i].name, sizeof e[i].name)) != CB_OK ||
        (st = get_u(r, 4, "parameter index", &v)) != CB_OK ||
        (st = get_u(r, 4, "learnable flag", &learnable)) != CB_OK)
      return st;
    e[i].index = (uint32_t)v;
    for (int d = 0; d < 4; d++) {
      if ((st = get_u(r, 8, "shape", &v)) != CB_OK) return st;
      if (v < 1 || v > (1ull << 40))
        return cb_error(CB_ERR_PARSE, "%s: tensor %s has a bad dimension %llu", r->path, e[i].name,
                        (unsigned long long)v);
      e[i].shape[d] = (int64_t)v;
    }
  }
  size_t pos = r->pos;
  for (uint32_t i = 0; i < n; i++) {
    int64_t c = e[i].shape[0] * e[i].shape[1], bytes;
    if (!cb_mul_i64(c, e[i].shape[2] * e[i].shape[3], &c) || !cb_mul_i64(c, 4, &bytes) ||
        (size_t)bytes > r->len || pos > r->len - (size_t)bytes) {
      r->pos = pos;
      return truncated(r, "data");
    }
    e[i].offset = pos;
    pos += (size_t)bytes;
  }
  if (r->len - pos != 4) {
    r->pos = pos;
    return r->len - pos < 4 ? truncated(r, "CRC-32")
                            : cb_error(CB_ERR_PARSE, "%s: %zu unexpected bytes after the data",
                                       r->path, r->len - pos - 4);
  }
  uint32_t stored = (uint32_t)r->buf[pos] | (uint32_t)r->buf[pos + 1] << 8 |
                    (uint32_t)r->buf[pos + 2] << 16 | (uint32_t)r->buf[pos + 3] << 24;
  uLong crc = crc32(crc32(0, NULL, 0), r->buf, (uInt)pos);
  if ((uint32_t)crc != stored)
    return cb_error(CB_ERR_PARSE, "%s: corrupt checkpoint (CRC-32 %08x, stored %08x)", r->path,
                    (unsigned)crc, (unsigned)stored);
  return CB_OK;
}

static void shape_str(const int64_t s[4], char *buf, size_t len) {
  snprintf(buf, len, "%lldx%lldx%lldx%lld", (long long)s[0], (long long)s[1], (long long)s[2],
           (long long)s[3]);
}

/* The file's entries for layer l must be exactly its parameters. */
static cb_status match_layer(const char *path, const cb_layer *l, const entry *e, uint32_t n,
                             bool *found) {
  int seen = 0;
  *found = false;
  for (uint32_t i = 0; i < n; i++) {
    if (strcmp(e[i].layer, l->name) != 0) continue;
    *found = true;
    seen++;
    if (e[i].index >= (uint32_t)l->nparams)
      return cb_error(CB_ERR_INVALID,
                      "%s: layer %s: the checkpoint has parameter %s (number %u), the net's "
                      "layer has %d parameters",
                      path, l->name, e[i].name, e[i].index + 1, l->nparams);
    const cb_tensor *t = &l->params[e[i].index];
    int64_t want[4] = {t->n, t->c, t->h, t->w};
    if (memcmp(want, e[i].shape, sizeof want) != 0) {
      char a[96], b[96];
      shape_str(e[i].shape, a, sizeof a);
      shape_str(want, b, sizeof b);
      return cb_error(CB_ERR_INVALID,
                      "%s: layer %s: parameter %s is %s in the checkpoint but %s in the net (a "
                      "layer with a different shape needs a new name to be initialised fresh)",
                      path, l->name, t->name, a, b);
    }
  }
  if (*found && seen != l->nparams)
    return cb_error(CB_ERR_INVALID, "%s: layer %s: the checkpoint has %d parameters, the net %d",
                    path, l->name, seen, l->nparams);
  return CB_OK;
}

static void copy_floats(float *dst, const uint8_t *src, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    uint32_t v = (uint32_t)src[4 * i] | (uint32_t)src[4 * i + 1] << 8 |
                 (uint32_t)src[4 * i + 2] << 16 | (uint32_t)src[4 * i + 3] << 24;
    memcpy(&dst[i], &v, 4);
  }
}

static void note_fresh(cb_ckpt_report *rep, const char *name) {
  size_t used = strlen(rep->fresh_names), cap = sizeof rep->fresh_names;
  if (used + strlen(name) + 8 >= cap) {
    if (!strstr(rep->fresh_names, "...")) snprintf(rep->fresh_names + used, cap - used, ", ...");
    return;
  }
  snprintf(rep->fresh_names + used, cap - used, "%s%s", used ? ", " : "", name);
}

cb_status cb_checkpoint_load(const char *path, cb_net *net, cb_ckpt_meta *meta,
                             cb_ckpt_report *rep) {
  cb_ckpt_meta m = {.sd = 1.0};
  cb_ckpt_report rp = {0};
  uint8_t *buf;
  size_t len = 0;
  cb_status st = read_file(path, &buf, &len);
  entry *e = NULL;
  uint32_t n = 0;
  reader r = {.path = path, .buf = buf, .len = len};
  if (st == CB_OK) st = parse(&r, &m, &e, &n);
  /* Check every layer before copying anything. */
  for (int i = 0; st == CB_OK && i < net->nlayers; i++) {
    bool found;
    const cb_layer *l = &net->layers[i];
    if (l->nparams == 0) continue;
    st = match_layer(path, l, e, n, &found);
    if (found)
      rp.loaded++;
    else
      rp.fresh++, note_fresh(&rp, l->name);
  }
  for (int i = 0; st == CB_OK && i < net->nlayers; i++) {
    cb_layer *l = &net->layers[i];
    for (uint32_t k = 0; k < n; k++)
      if (strcmp(e[k].layer, l->name) == 0) {
        cb_tensor *t = &l->params[e[k].index];
        copy_floats(t->data, buf + e[k].offset, cb_tensor_count(t));
      }
  }
  for (uint32_t k = 0; st == CB_OK && k < n; k++) {
    bool known = false;
    for (int i = 0; i < net->nlayers && !known; i++)
      known = strcmp(net->layers[i].name, e[k].layer) == 0;
    /* Count each unknown layer once: at its first entry. */
    bool first = true;
    for (uint32_t j = 0; j < k && first; j++) first = strcmp(e[j].layer, e[k].layer) != 0;
    rp.unused += !known && first;
  }
  free(e);
  free(buf);
  if (st != CB_OK) return st;
  if (meta) *meta = m;
  if (rep) *rep = rp;
  return CB_OK;
}
