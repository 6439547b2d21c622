/* report_doc.c: building and freeing the report document (report_doc.h).
 * Every allocation failure becomes CB_ERR_NOMEM with what was being added;
 * a half-built document is still freed by rp_doc_free(). */
#include "report_doc.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_empty(const char *s) {
  return strdup(s ? s : "");
}

/* Grows *arr (of elem bytes each) so that index n fits. */
static bool grow(void **arr, int *cap, int n, size_t elem) {
  if (n < *cap) return true;
  int ncap = *cap ? *cap * 2 : 8;
  while (ncap <= n) ncap *= 2;
  void *p = realloc(*arr, (size_t)ncap * elem);
  if (!p) return false;
  memset((char *)p + (size_t)*cap * elem, 0, (size_t)(ncap - *cap) * elem);
  *arr = p;
  *cap = ncap;
  return true;
}

rp_section *rp_section_add(rp_doc *d, int level, const char *title) {
  if (!grow((void **)&d->sections, &d->cap, d->nsections, sizeof *d->sections)) return NULL;
  rp_section *s = &d->sections[d->nsections];
  s->title = dup_or_empty(title);
  if (!s->title) return NULL;
  s->level = level;
  d->nsections++;
  return s;
}

rp_section *rp_doc_last(rp_doc *d) {
  return d->nsections ? &d->sections[d->nsections - 1] : NULL;
}

/* A new zeroed block at the end of the last section. */
static rp_block *block_add(rp_doc *d, rp_block_kind kind) {
  rp_section *s = rp_doc_last(d);
  if (!s) s = rp_section_add(d, 2, "");
  if (!s || !grow((void **)&s->blocks, &s->cap, s->nblocks, sizeof *s->blocks)) return NULL;
  rp_block *b = &s->blocks[s->nblocks++];
  b->kind = kind;
  return b;
}

cb_status rp_text(rp_doc *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char buf[2048];
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  rp_block *b = block_add(d, RP_TEXT);
  if (!b || !(b->text = strdup(buf))) return cb_error(CB_ERR_NOMEM, "report: out of memory");
  return CB_OK;
}

cb_status rp_code(rp_doc *d, const char *lines) {
  rp_block *b = block_add(d, RP_CODE);
  if (!b || !(b->text = dup_or_empty(lines)))
    return cb_error(CB_ERR_NOMEM, "report: out of memory");
  return CB_OK;
}

rp_table *rp_table_add(rp_doc *d, const char *caption, int ncols, const char *const *head) {
  rp_block *b = block_add(d, RP_TABLE);
  if (!b) return NULL;
  b->text = caption ? strdup(caption) : NULL;
  rp_table *t = &b->table;
  t->ncols = ncols;
  t->head = calloc((size_t)ncols, sizeof *t->head);
  t->right = calloc((size_t)ncols, sizeof *t->right);
  if (!t->head || !t->right) return NULL;
  for (int i = 0; i < ncols; i++) {
    t->right[i] = head[i][0] == '>';
    if (!(t->head[i] = strdup(head[i] + t->right[i]))) return NULL;
  }
  d->ntables++;
  return t;
}

cb_status rp_row(rp_table *t, const char *const *cells) {
  char **c = realloc(t->cells, (size_t)(t->nrows + 1) * (size_t)t->ncols * sizeof *c);
  if (!c) return cb_error(CB_ERR_NOMEM, "report: out of memory");
  t->cells = c;
  char **row = c + (size_t)t->nrows * (size_t)t->ncols;
  for (int i = 0; i < t->ncols; i++) row[i] = NULL;
  t->nrows++;
  for (int i = 0; i < t->ncols; i++)
    if (!(row[i] = dup_or_empty(cells[i]))) return cb_error(CB_ERR_NOMEM, "report: out of memory");
  return CB_OK;
}

rp_plot *rp_plot_new(rp_plot_kind kind, const char *name, const char *title, const char *xlabel,
                     const char *ylabel) {
  rp_plot *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->kind = kind;
  p->hline = NAN;
  p->name = dup_or_empty(name);
  p->title = dup_or_empty(title);
  p->xlabel = dup_or_empty(xlabel);
  p->ylabel = dup_or_empty(ylabel);
  p->y2label = dup_or_empty("");
  if (!p->name || !p->title || !p->xlabel || !p->ylabel || !p->y2label) {
    rp_plot_free(p);
    return NULL;
  }
  /* File stems stay portable whatever the net is called. */
  for (char *c = p->name; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
      *c = (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a') : '_';
  return p;
}

cb_status rp_bars_shape(rp_plot *p, int ncat, const char *const *cats, int nseries,
                        const char *const *series) {
  p->ncat = ncat;
  p->nseries = nseries;
  p->cat = calloc((size_t)ncat + 1, sizeof *p->cat);
  p->bar_label = calloc((size_t)ncat + 1, sizeof *p->bar_label);
  p->series = calloc((size_t)nseries + 1, sizeof *p->series);
  p->val = malloc(((size_t)ncat * (size_t)nseries + 1) * sizeof *p->val);
  if (!p->cat || !p->bar_label || !p->series || !p->val)
    return cb_error(CB_ERR_NOMEM, "report: out of memory");
  for (int i = 0; i < ncat * nseries; i++) p->val[i] = NAN;
  for (int i = 0; i < ncat; i++)
    if (!(p->cat[i] = strdup(cats[i]))) return cb_error(CB_ERR_NOMEM, "report: out of memory");
  for (int i = 0; i < nseries; i++)
    if (!(p->series[i].name = strdup(series[i])))
      return cb_error(CB_ERR_NOMEM, "report: out of memory");
  return CB_OK;
}

int rp_lines_series(rp_plot *p, const char *name, bool y2) {
  rp_series *s = realloc(p->series, (size_t)(p->nseries + 1) * sizeof *s);
  if (!s) return -1;
  p->series = s;
  memset(&s[p->nseries], 0, sizeof *s);
  s[p->nseries].y2 = y2;
  if (!(s[p->nseries].name = strdup(name))) return -1;
  return p->nseries++;
}

cb_status rp_lines_point(rp_plot *p, int si, double x, double y) {
  rp_series *s = &p->series[si];
  if (s->n == s->cap) {
    int cap = s->cap ? s->cap * 2 : 64;
    double *nx = realloc(s->x, (size_t)cap * sizeof *nx);
    if (!nx) return cb_error(CB_ERR_NOMEM, "report: out of memory");
    s->x = nx;
    double *ny = realloc(s->y, (size_t)cap * sizeof *ny);
    if (!ny) return cb_error(CB_ERR_NOMEM, "report: out of memory");
    s->y = ny;
    s->cap = cap;
  }
  s->x[s->n] = x;
  s->y[s->n] = y;
  s->n++;
  return CB_OK;
}

cb_status rp_plot_add(rp_doc *d, rp_plot *p) {
  rp_block *b = block_add(d, RP_PLOT);
  if (!b) {
    rp_plot_free(p);
    return cb_error(CB_ERR_NOMEM, "report: out of memory");
  }
  b->plot = p;
  d->nplots++;
  return CB_OK;
}

void rp_plot_free(rp_plot *p) {
  if (!p) return;
  free(p->name);
  free(p->title);
  free(p->xlabel);
  free(p->ylabel);
  free(p->y2label);
  free(p->hline_label);
  for (int i = 0; i < p->nseries && p->series; i++) {
    free(p->series[i].name);
    free(p->series[i].x);
    free(p->series[i].y);
  }
  free(p->series);
  for (int i = 0; i < p->ncat && p->cat; i++) free(p->cat[i]);
  for (int i = 0; i < p->ncat && p->bar_label; i++) free(p->bar_label[i]);
  free(p->cat);
  free(p->bar_label);
  free(p->val);
  free(p);
}

static void table_free(rp_table *t) {
  for (int i = 0; i < t->ncols && t->head; i++) free(t->head[i]);
  free(t->head);
  free(t->right);
  for (size_t i = 0; i < (size_t)t->nrows * (size_t)t->ncols; i++) free(t->cells[i]);
  free(t->cells);
}

void rp_doc_free(rp_doc *d) {
  for (int i = 0; i < d->nsections; i++) {
    rp_section *s = &d->sections[i];
    for (int j = 0; j < s->nblocks; j++) {
      free(s->blocks[j].text);
      table_free(&s->blocks[j].table);
      rp_plot_free(s->blocks[j].plot);
    }
    free(s->blocks);
    free(s->title);
  }
  free(d->sections);
  free(d->title);
  memset(d, 0, sizeof *d);
}

const char *rp_num(char *buf, double v) {
  if (isnan(v))
    snprintf(buf, 32, "-");
  else
    snprintf(buf, 32, fabs(v) >= 1000 ? "%.1f" : fabs(v) >= 1 || v == 0 ? "%.2f" : "%.3g", v);
  return buf;
}
