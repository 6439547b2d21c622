/* report_section.c: how sections start and the block every section ends
 * with (report_section.h). */
#include "report_section.h"

#include <stdlib.h>

cb_status rp_reproduce(rp_ctx *c, const int64_t *ids, int n) {
  char *text;
  cb_status s = rp_text(c->doc, "Reproduce with:");
  if (s == CB_OK) s = rp_run_commands(c->h, ids, n, &text);
  if (s != CB_OK) return s;
  s = rp_code(c->doc, text);
  free(text);
  return s;
}

cb_status rp_section_query(rp_ctx *c, const char *title, const char *what, const char *sql,
                           sqlite3_stmt **st) {
  if (!rp_section_add(c->doc, 2, title)) return rp_nomem();
  return rp_prepare(c->h, what, sql, st);
}
