/* cpu_backend.c: the cpu backend table: our own kernels on the host, the
 * backend state (cache sizes for blocking) and the pinning of OpenMP
 * threads to cores.
 *
 * init reads the topology with hwloc, records the L1d, L2 and L3 sizes
 * (per core, per L3 domain) and the physical core count in a cb_cpu_state,
 * and binds the OpenMP threads of this context's team, thread i to core
 * i mod cores, so a thread keeps its L1 and L2 (its packed A block, the B
 * panel in L1) from one call to the next instead of migrating. Each
 * thread's previous binding is kept and restored by fini: the team belongs
 * to the whole process (other backends' OpenMP regions run on the same
 * threads). A binding the OS refuses (a container without
 * sched_setaffinity, a cpuset that excludes the core) leaves the threads
 * unpinned and the backend usable: pinning is for speed, not correctness. */
#include "cpu.h"

#include <hwloc.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* The state behind ctx->state: cb_cpu_state first, so the kernels read it
 * through cpu.h's view, then what fini needs. */
typedef struct cpu_state {
  cb_cpu_state pub;
  hwloc_topology_t topo;
  int nbound; /* team threads recorded at init */
  struct bound_thread {
    pthread_t thread;
    hwloc_bitmap_t previous; /* NULL when it could not be read */
  } * bound;
} cpu_state;

/* Size in bytes of the first cache at this level (data or unified), 0 when
 * hwloc reports none (some hypervisors hide a level). */
static int64_t cache_size(hwloc_topology_t topo, hwloc_obj_type_t type) {
  hwloc_obj_t obj = hwloc_get_obj_by_type(topo, type, 0);
  return obj && obj->attr ? (int64_t)obj->attr->cache.size : 0;
}

static cb_status load_topology(hwloc_topology_t *topo) {
  if (hwloc_topology_init(topo) != 0)
    return cb_error(CB_ERR_UNAVAILABLE, "cpu: hwloc_topology_init failed");
  if (hwloc_topology_load(*topo) != 0) {
    hwloc_topology_destroy(*topo);
    return cb_error(CB_ERR_UNAVAILABLE, "cpu: hwloc could not read the machine's topology");
  }
  return CB_OK;
}

static void read_caches(hwloc_topology_t topo, cb_cpu_state *st) {
  st->l1d = cache_size(topo, HWLOC_OBJ_L1CACHE);
  st->l2 = cache_size(topo, HWLOC_OBJ_L2CACHE);
  st->l3 = cache_size(topo, HWLOC_OBJ_L3CACHE);
  st->cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  if (st->cores < 1) st->cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
  if (st->cores < 1) st->cores = 1;
}

/* Binds each thread of a team of ctx->threads to its core; true when every
 * binding took. Runs in the team itself: binding is per OS thread. */
static bool pin_team(cpu_state *s, int threads) {
  bool ok = true;
  int cores = hwloc_get_nbobjs_by_type(s->topo, HWLOC_OBJ_CORE);
#pragma omp parallel num_threads(threads) reduction(&& : ok)
  {
    int tid = omp_get_thread_num();
    if (tid == 0) s->nbound = omp_get_num_threads();
    struct bound_thread *b = &s->bound[tid];
    b->thread = pthread_self();
    b->previous = hwloc_bitmap_alloc();
    if (b->previous && hwloc_get_cpubind(s->topo, b->previous, HWLOC_CPUBIND_THREAD) != 0) {
      hwloc_bitmap_free(b->previous);
      b->previous = NULL;
    }
    hwloc_obj_t core =
        cores > 0 ? hwloc_get_obj_by_type(s->topo, HWLOC_OBJ_CORE, tid % cores) : NULL;
    ok = core && b->previous && hwloc_set_cpubind(s->topo, core->cpuset, HWLOC_CPUBIND_THREAD) == 0;
  }
  return ok;
}

/* Gives every thread of the team its binding from before pin_team. A
 * thread is found by its identity, not its number: the same pool threads
 * serve every region of one size in practice, but nothing promises it, and
 * a thread that is not found is left as it is. */
static void unpin_team(cpu_state *s) {
#pragma omp parallel num_threads(s->nbound)
  {
    pthread_t self = pthread_self();
    for (int i = 0; i < s->nbound; i++)
      if (s->bound[i].previous && pthread_equal(s->bound[i].thread, self))
        hwloc_set_cpubind(s->topo, s->bound[i].previous, HWLOC_CPUBIND_THREAD);
  }
}

static void cpu_fini(cb_ctx *ctx) {
  cpu_state *s = ctx->state;
  if (!s) return;
  if (s->pub.pinned) unpin_team(s);
  for (int i = 0; i < s->nbound; i++)
    if (s->bound[i].previous) hwloc_bitmap_free(s->bound[i].previous);
  free(s->bound);
  hwloc_topology_destroy(s->topo);
  free(s);
  ctx->state = NULL;
}

static cb_status cpu_init(cb_ctx *ctx) {
  cpu_state *s = calloc(1, sizeof *s);
  if (!s) return cb_error(CB_ERR_NOMEM, "cpu: out of memory for the backend state");
  cb_status st = load_topology(&s->topo);
  if (st != CB_OK) {
    free(s);
    return st;
  }
  read_caches(s->topo, &s->pub);
  s->bound = calloc((size_t)ctx->threads, sizeof *s->bound);
  if (!s->bound) {
    hwloc_topology_destroy(s->topo);
    free(s);
    return cb_error(CB_ERR_NOMEM, "cpu: out of memory for the backend state");
  }
  ctx->state = s;
  s->pub.pinned = pin_team(s, ctx->threads);
  if (!s->pub.pinned) {
    /* Undo the bindings that did take; the rest were never changed. */
    unpin_team(s);
    cb_log(CB_LOG_DEBUG, "cpu: could not pin %d threads to cores; running unpinned", ctx->threads);
  }
  return CB_OK;
}

/* "1 MiB", "32 KiB", "768 KiB": cache sizes as the vendors write them. */
static void format_size(int64_t bytes, char *buf, size_t len) {
  if (bytes <= 0)
    snprintf(buf, len, "?");
  else if (bytes % (1 << 20) == 0)
    snprintf(buf, len, "%lld MiB", (long long)(bytes >> 20));
  else
    snprintf(buf, len, "%lld KiB", (long long)(bytes >> 10));
}

/* "cpu kernels, avx512 (L1d 32 KiB, L2 1 MiB, L3 32 MiB)": the ISA the
 * kernels dispatch to and the caches their blocking derives from. */
static void cpu_version(char *buf, size_t len) {
  cb_cpu_state st = {0};
  hwloc_topology_t topo;
  if (load_topology(&topo) == CB_OK) {
    read_caches(topo, &st);
    hwloc_topology_destroy(topo);
  }
  char l1[32], l2[32], l3[32];
  format_size(st.l1d, l1, sizeof l1);
  format_size(st.l2, l2, sizeof l2);
  format_size(st.l3, l3, sizeof l3);
  snprintf(buf, len, "cpu kernels, %s (L1d %s, L2 %s, L3 %s)", cb_cpu_isa_name(cb_cpu_best_isa()),
           l1, l2, l3);
}

const cb_backend cb_backend_cpu = {
    .api_version = CB_API_VERSION,
    .name = "cpu",
    .desc = "hand-written C kernels: blocked SGEMM, im2col, direct, Winograd (AVX-512 / AVX2 / "
            "scalar)",
    .device = CB_DEVICE_HOST,
    .init = cpu_init,
    .fini = cpu_fini,
    .version = cpu_version,
    .variants = CB_VARIANTS(cb_cpu_conv_fwd_variants, cb_cpu_conv_bwd_data_variants,
                            cb_cpu_conv_bwd_filter_variants, cb_cpu_gemm_variants),
};
