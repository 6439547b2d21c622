/* net_problems.h: the distinct kernel problems of a netdef, which a
 * tuning campaign (autotune/campaign.h) takes. */
#ifndef CB_NET_PROBLEMS_H
#define CB_NET_PROBLEMS_H

#include "campaign.h"
#include "netdef.h"

/* Collects every conv and fc problem of the netdef (all entries of a
 * .shapes file) for the selected ops (fwd, bwd_data, bwd_filter), in
 * first-seen order; the input gradient only where the net computes one.
 * out is empty (and needs no freeing) on error. */
cb_status cb_net_problems_collect(const cb_netdef *nd, int64_t batch, int threads, bool input_grad,
                                  const bool ops[3], cb_problem_list *out);

#endif
