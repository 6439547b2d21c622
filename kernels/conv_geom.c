/* conv_geom.c: cb_conv_geom_init (see conv_geom.h). */
#include "conv_geom.h"

void cb_conv_geom_init(cb_conv_geom *g, const cb_conv *cv) {
  g->cv = *cv;
  g->p = cb_conv_out_h(cv);
  g->q = cb_conv_out_w(cv);
  g->pq = g->p * g->q;
  g->hw = cv->h * cv->w;
  g->cg = cv->c / cv->groups;
  g->kg = cv->k / cv->groups;
  g->rs = cv->r * cv->s;
  g->cgrs = g->cg * g->rs;
  g->crs = cv->c * g->rs;
}
