/* report_md.c: the report as GitHub-flavoured Markdown (report.md), the
 * tables in the layout of convnet-benchmarks' README: a caption, a pipe
 * table with numbers right-aligned, then the commands that reproduce it. */
#include "report_doc.h"

#include <errno.h>
#include <string.h>

/* A table cell: pipes escaped, newlines flattened. */
static void cell(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '|')
      fputs("\\|", f);
    else if (*s == '\n' || *s == '\r')
      fputc(' ', f);
    else
      fputc(*s, f);
  }
}

static void table(FILE *f, const rp_block *b) {
  const rp_table *t = &b->table;
  if (b->text) fprintf(f, "%s\n\n", b->text);
  fputc('|', f);
  for (int c = 0; c < t->ncols; c++) {
    fputc(' ', f);
    cell(f, t->head[c]);
    fputs(" |", f);
  }
  fputs("\n|", f);
  for (int c = 0; c < t->ncols; c++) fputs(t->right[c] ? " ---: |" : " :--- |", f);
  fputc('\n', f);
  for (int r = 0; r < t->nrows; r++) {
    fputc('|', f);
    for (int c = 0; c < t->ncols; c++) {
      fputc(' ', f);
      cell(f, t->cells[(size_t)r * (size_t)t->ncols + (size_t)c]);
      fputs(" |", f);
    }
    fputc('\n', f);
  }
  fputc('\n', f);
}

static void block(FILE *f, const rp_block *b) {
  switch (b->kind) {
  case RP_TEXT:
    fprintf(f, "%s\n\n", b->text);
    break;
  case RP_CODE:
    fprintf(f, "```sh\n%s%s```\n\n", b->text,
            b->text[0] && b->text[strlen(b->text) - 1] != '\n' ? "\n" : "");
    break;
  case RP_TABLE:
    table(f, b);
    break;
  case RP_PLOT:
    fprintf(f, "![%s](plots/%s.png) ([SVG](plots/%s.svg))\n\n", b->plot->title, b->plot->name,
            b->plot->name);
    break;
  }
}

cb_status rp_write_md(const rp_doc *d, const char *path) {
  FILE *f = fopen(path, "w");
  if (!f) return cb_error(CB_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
  fprintf(f, "# %s\n\n", d->title ? d->title : "convbench report");
  for (int i = 0; i < d->nsections; i++) {
    const rp_section *s = &d->sections[i];
    if (s->title[0]) fprintf(f, "%s %s\n\n", s->level >= 3 ? "###" : "##", s->title);
    for (int j = 0; j < s->nblocks; j++) block(f, &s->blocks[j]);
  }
  if (fclose(f) != 0) return cb_error(CB_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
  return CB_OK;
}
