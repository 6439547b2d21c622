/* cpu_conv_list.c: the cpu backend's conv variants, one NULL-terminated
 * list per op (declared in cpu.h). A layer that nobody tuned takes the
 * first variant whose supports() accepts its problem, so each list starts
 * with the specialised variants, whose supports() accept only the shapes
 * where they are measured faster, and ends with im2col, which computes
 * everything. */
#include "cpu_conv.h"

const cb_variant *const cb_cpu_conv_fwd_variants[] = {
    &cb_cpu_conv_fwd_winograd_f4x3,
    &cb_cpu_conv_fwd_winograd_f2x3,
    &cb_cpu_conv_fwd_direct,
    &cb_cpu_conv_fwd_im2col,
    NULL,
};

const cb_variant *const cb_cpu_conv_bwd_data_variants[] = {
    &cb_cpu_conv_bwd_data_winograd_f4x3,
    &cb_cpu_conv_bwd_data_winograd_f2x3,
    &cb_cpu_conv_bwd_data_direct,
    &cb_cpu_conv_bwd_data_im2col,
    NULL,
};

const cb_variant *const cb_cpu_conv_bwd_filter_variants[] = {
    &cb_cpu_conv_bwd_filter_winograd_f4x3,
    &cb_cpu_conv_bwd_filter_winograd_f2x3,
    &cb_cpu_conv_bwd_filter_direct,
    &cb_cpu_conv_bwd_filter_im2col,
    NULL,
};
