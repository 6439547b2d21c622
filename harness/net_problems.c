/* net_problems.c: a netdef's kernel problems, found by building each net
 * in check-only mode (shapes and bindings, no tensors). */
#include "net_problems.h"

#include "net.h"

#include <string.h>

cb_status cb_net_problems_collect(const cb_netdef *nd, int64_t batch, int threads, bool input_grad,
                                  const bool ops[3], cb_problem_list *out) {
  memset(out, 0, sizeof *out);
  int nnets = nd->is_shapes ? nd->n : 1;
  cb_status st = CB_OK;
  for (int i = 0; i < nnets && st == CB_OK; i++) {
    cb_net_opts o = {.batch = batch,
                     .threads = threads,
                     .seed = 1,
                     .input_grad = input_grad,
                     .shape_index = i,
                     .check_only = true,
                     .mem_limit = INT64_MAX};
    cb_net *net;
    if ((st = cb_net_build(nd, &o, &net)) != CB_OK) break;
    for (int li = 0; li < net->nlayers && st == CB_OK; li++) {
      const cb_layer *l = &net->layers[li];
      for (int b = 0; b < l->nbind && st == CB_OK; b++) {
        /* Binding 1 is the input gradient: only where one is computed. */
        if (!ops[b] || (b == 1 && !l->in[0]->needs_grad)) continue;
        st = cb_problem_list_add(out, &l->bind[b].problem);
      }
    }
    cb_net_free(net);
  }
  if (st != CB_OK) cb_problem_list_free(out);
  return st;
}
