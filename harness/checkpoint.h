/* checkpoint.h: a net's parameters saved to and loaded from a file (the
 * format is docs/checkpoint.md).
 *
 * Loading matches by layer name, the way Caffe fine-tunes: a layer of the
 * net that the checkpoint also holds gets its parameters, with the same
 * count and shapes or a clear error; a layer the checkpoint lacks keeps
 * its fresh initialisation; checkpoint layers the net lacks are ignored.
 * Everything is read and checked before the net is touched, so a bad file
 * never leaves a half-loaded net. */
#ifndef CB_CHECKPOINT_H
#define CB_CHECKPOINT_H

#include "net.h"

#define CB_CKPT_MAGIC   "CBCKPT\r\n" /* 8 bytes; the CR LF catches text-mode copies */
#define CB_CKPT_VERSION 1

/* What a checkpoint records besides the parameters. */
typedef struct cb_ckpt_meta {
  char net[CB_NAME_MAX]; /* the net's name when saved */
  double mean, sd;       /* the input normalisation it was trained with */
} cb_ckpt_meta;

/* What loading did. */
typedef struct cb_ckpt_report {
  int loaded;            /* layers with parameters copied from the file */
  int fresh;             /* layers with parameters the file lacks: initialised fresh */
  int unused;            /* layers in the file the net lacks */
  char fresh_names[512]; /* "ip2, ip3" (truncated with "..." when long) */
} cb_ckpt_report;

/* Writes every parameter of every layer (learnable or not: batch-norm
 * statistics too) to path, through a temporary file renamed into place.
 * CB_ERR_IO naming the file on failure. */
cb_status cb_checkpoint_save(const char *path, const cb_net *net, const cb_ckpt_meta *meta);

/* Reads path and copies its parameters into net by layer name. meta and
 * rep may be NULL. CB_ERR_IO when it cannot be read; CB_ERR_PARSE naming
 * the file when it is not a checkpoint, of another version or dtype,
 * truncated or corrupt; CB_ERR_INVALID naming the layer, the parameter
 * and both shapes when a layer of the same name has different shapes. */
cb_status cb_checkpoint_load(const char *path, cb_net *net, cb_ckpt_meta *meta,
                             cb_ckpt_report *rep);

#endif
