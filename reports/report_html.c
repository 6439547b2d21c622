/* report_html.c: the report as one static HTML page (index.html): inline
 * CSS, no script, no network; each plot an <img> of plots/NAME.svg that
 * links to its PNG. Every piece of text from the database is escaped. */
#include "report_doc.h"

#include <errno.h>
#include <string.h>

static const char css[] =
    "body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222}"
    "h1{border-bottom:2px solid #444}h2{border-bottom:1px solid #aaa;margin-top:2em}"
    "table{border-collapse:collapse;margin:.5em 0 1em}"
    "th,td{border:1px solid #bbb;padding:2px 8px}th{background:#eee}"
    "td.r{text-align:right;font-variant-numeric:tabular-nums}"
    "tr:nth-child(even) td{background:#f8f8f8}"
    "pre{background:#f4f4f4;border:1px solid #ddd;padding:.5em;overflow-x:auto}"
    "figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ddd}"
    "figcaption{font-size:90%;color:#555}p.caption{font-weight:bold;margin-bottom:0}";

/* Writes s with the characters HTML gives a meaning to as entities. */
static void esc(FILE *f, const char *s) {
  static const char special[] = "<>&\"";
  static const char *const entity[] = {"&lt;", "&gt;", "&amp;", "&quot;"};
  for (; *s; s++) {
    const char *hit = strchr(special, *s); /* *s is never the terminator */
    if (hit)
      fputs(entity[hit - special], f);
    else
      fputc(*s, f);
  }
}

/* open, s escaped, close: a piece of text in its element. */
static void element(FILE *f, const char *open, const char *s, const char *close) {
  fputs(open, f);
  esc(f, s);
  fputs(close, f);
}

static void table(FILE *f, const rp_block *b) {
  const rp_table *t = &b->table;
  if (b->text) {
    element(f, "<p class=\"caption\">", b->text, "</p>\n");
  }
  fputs("<table>\n<tr>", f);
  for (int c = 0; c < t->ncols; c++) {
    element(f, "<th>", t->head[c], "</th>");
  }
  fputs("</tr>\n", f);
  for (int r = 0; r < t->nrows; r++) {
    fputs("<tr>", f);
    for (int c = 0; c < t->ncols; c++) {
      element(f, t->right[c] ? "<td class=\"r\">" : "<td>",
              t->cells[(size_t)r * (size_t)t->ncols + (size_t)c], "</td>");
    }
    fputs("</tr>\n", f);
  }
  fputs("</table>\n", f);
}

static void block(FILE *f, const rp_block *b) {
  switch (b->kind) {
  case RP_TEXT:
    element(f, "<p>", b->text, "</p>\n");
    break;
  case RP_CODE:
    element(f, "<pre>", b->text, "</pre>\n");
    break;
  case RP_TABLE:
    table(f, b);
    break;
  case RP_PLOT:
    /* Names are [a-z0-9_-] (rp_plot_new), safe in an attribute as is. */
    fprintf(f, "<figure><a href=\"plots/%s.png\"><img src=\"plots/%s.svg\" alt=\"", b->plot->name,
            b->plot->name);
    esc(f, b->plot->title);
    fputs("\"></a><figcaption>", f);
    esc(f, b->plot->title);
    fprintf(f,
            " (<a href=\"plots/%s.svg\">SVG</a>, <a href=\"plots/%s.png\">PNG</a>, "
            "<a href=\"plots/%s.dat\">data</a>, <a href=\"plots/%s.gp\">gnuplot</a>)"
            "</figcaption></figure>\n",
            b->plot->name, b->plot->name, b->plot->name, b->plot->name);
    break;
  }
}

cb_status rp_write_html(const rp_doc *d, const char *path) {
  FILE *f = fopen(path, "w");
  if (!f) return cb_error(CB_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
  const char *title = d->title ? d->title : "convbench report";
  fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", f);
  esc(f, title);
  fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n", css);
  element(f, "<h1>", title, "</h1>\n");
  for (int i = 0; i < d->nsections; i++) {
    const rp_section *s = &d->sections[i];
    if (s->title[0]) {
      bool h3 = s->level >= 3;
      element(f, h3 ? "<h3>" : "<h2>", s->title, h3 ? "</h3>\n" : "</h2>\n");
    }
    for (int j = 0; j < s->nblocks; j++) block(f, &s->blocks[j]);
  }
  fputs("</body>\n</html>\n", f);
  if (fclose(f) != 0) return cb_error(CB_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
  return CB_OK;
}
