/* cpu_isa.c: which instruction sets this CPU runs, for the cpu backend's
 * run-time dispatch (see cpu.h).
 *
 * __builtin_cpu_supports (GCC and clang) reads CPUID once and also checks
 * that the OS saves the wider registers (XGETBV), so an AVX-512 CPU under
 * an OS or hypervisor that disables AVX-512 state reports AVX2. The AVX-512
 * kernels use F, BW, VL and DQ (masks on 16-bit lanes, 256-bit forms and
 * float/int conversions), so all four are required. */
#include "cpu.h"

static bool runs_avx512(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

static bool runs_avx2(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

cb_cpu_isa cb_cpu_best_isa(void) {
  if (runs_avx512()) return CB_CPU_AVX512;
  if (runs_avx2()) return CB_CPU_AVX2;
  return CB_CPU_SCALAR;
}

bool cb_cpu_isa_runs(cb_cpu_isa isa) {
  switch (isa) {
  case CB_CPU_ISA_AUTO:
  case CB_CPU_SCALAR:
    return true;
  case CB_CPU_AVX2:
    return runs_avx2();
  case CB_CPU_AVX512:
    return runs_avx512();
  }
  return false; /* a value outside the enum, e.g. a bad parameter */
}

cb_cpu_isa cb_cpu_isa_resolve(cb_cpu_isa isa) {
  return isa == CB_CPU_ISA_AUTO ? cb_cpu_best_isa() : isa;
}

const char *cb_cpu_isa_name(cb_cpu_isa isa) {
  switch (isa) {
  case CB_CPU_ISA_AUTO:
    return "auto";
  case CB_CPU_SCALAR:
    return "scalar";
  case CB_CPU_AVX2:
    return "avx2";
  case CB_CPU_AVX512:
    return "avx512";
  }
  return "unknown";
}
