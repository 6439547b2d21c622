/* cpu_conv_list.c: the cpu backend's conv variants, one NULL-terminated
 * list per op (declared in cpu.h). A layer that nobody tuned takes the
 * first variant whose supports() accepts its problem, so each list starts
 * with the specialised variants, whose supports() accept only the shapes
 * where they were measured faster, and ends with im2col, which computes
 * everything. Measured at batch 16 on 2 threads (L1..L5, AlexNet):
 *   - Winograd F(4x4,3x3) beat F(2x2,3x3) by 1.1-1.6x, and both beat the
 *     others, on every 3x3 layer, all three ops;
 *   - direct beat im2col forward on every other layer (1.04-1.6x), and
 *     backward-data where its supports() lets it (see cpu_conv_direct.c);
 *     backward-filter it computes only for 1x1 filters.
 * depthwise leads every list: its supports() takes only depthwise problems
 * (groups == c, k a multiple of c), which the others compute as one tiny
 * GEMM per channel (im2col) or not at all. */
#include "cpu_conv.h"

const cb_variant *const cb_cpu_conv_fwd_variants[] = {
    &cb_cpu_conv_fwd_depthwise, &cb_cpu_conv_fwd_winograd_f4x3, &cb_cpu_conv_fwd_winograd_f2x3,
    &cb_cpu_conv_fwd_direct,    &cb_cpu_conv_fwd_im2col,        NULL,
};

const cb_variant *const cb_cpu_conv_bwd_data_variants[] = {
    &cb_cpu_conv_bwd_data_depthwise,     &cb_cpu_conv_bwd_data_winograd_f4x3,
    &cb_cpu_conv_bwd_data_winograd_f2x3, &cb_cpu_conv_bwd_data_direct,
    &cb_cpu_conv_bwd_data_im2col,        NULL,
};

const cb_variant *const cb_cpu_conv_bwd_filter_variants[] = {
    &cb_cpu_conv_bwd_filter_depthwise,     &cb_cpu_conv_bwd_filter_winograd_f4x3,
    &cb_cpu_conv_bwd_filter_winograd_f2x3, &cb_cpu_conv_bwd_filter_direct,
    &cb_cpu_conv_bwd_filter_im2col,        NULL,
};
