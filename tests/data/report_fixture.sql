-- report_fixture.sql: a small results database with rows in every table
-- (tests/cli/test_report.sh loads it into a database made by
-- `convbench db init`). The numbers are chosen so that the report's
-- tables can be checked by hand:
--   fixnet, batch 4, 2 threads: totals cudnn 3, onednn 20, pytorch 30,
--   darknet 60, openblas 80 (run 9 replaces run 1's 40), peak 300 GFLOP/s;
--   fixnet at 1 thread (no peak recorded): openblas 50 with layers, darknet
--   100 without (no column in the per-layer table);
--   convnet-layers (.shapes): openblas L1 3 + L2 6 = 9 ms, pytorch L1 only;
--   tune: onednn wins P1 by 2.00x, openblas wins P2 by 1.50x;
--   training: two series (cpu, pytorch) over 5 steps; gradient checks:
--   fc1 on onednn fails bwd_data.
-- 2026-01-01T00:00:00Z is t_unix 1767225600.

INSERT INTO machines (id, fingerprint, hostname, os, cpu_vendor, cpu_model, isa, isa_level,
  packages, numa_nodes, cores, pus, l1d_bytes, l2_bytes, l3_bytes, l2_count, l3_count, mem_bytes,
  topology, first_seen)
VALUES (1, 'fixture-fp', 'fixhost', 'Linux test', 'AMD', 'Fixture CPU 9000', 'avx2', 'avx2',
  1, 1, 2, 4, 32768, 1048576, 16777216, 2, 1, 17179869184, '{}', '2026-01-01T00:00:00.000Z');

INSERT INTO builds (id, fingerprint, git_rev, git_dirty, compiler, flags, build_type, libs,
  kernel_hash, first_seen)
VALUES (1, 'build-fp', 'abc123', 1, 'GNU 12.2.0', '-O3', 'Release', 'OpenBLAS 0.3.21', 'k',
  '2026-01-01T00:00:00.000Z'),
       (2, 'torch-fp', '', 0, 'PyTorch 1.13', '', 'release', 'mkldnn', '',
  '2026-01-01T00:00:00.000Z');

INSERT INTO runs (id, machine_id, build_id, kind, command, seed, threads, hostname, pid, started,
  ended, status)
VALUES
 (1, 1, 1, 'bench', 'convbench bench fixnet.net --batch 4 --backend openblas,onednn', 1, 2, 'fixhost', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:10.000Z', 'ok'),
 (2, 1, 2, 'peer', 'scripts/peers/pytorch_bench.py fixnet.net --batch 4', 1, 2, 'fixhost', 2, '2026-01-01T00:01:00.000Z', '2026-01-01T00:01:10.000Z', 'ok'),
 (3, 1, 1, 'peer', 'scripts/peers/darknet_bench.py fixnet.net --batch 4', 1, 2, 'fixhost', 3, '2026-01-01T00:02:00.000Z', '2026-01-01T00:02:10.000Z', 'ok'),
 (4, 1, 1, 'bench', 'convbench bench layers.shapes --batch 4 --backend openblas', 1, 2, 'fixhost', 4, '2026-01-01T00:03:00.000Z', '2026-01-01T00:03:10.000Z', 'ok'),
 (5, 1, 1, 'tune', 'convbench tune fixnet.net --batch 4', 1, 2, 'fixhost', 5, '2026-01-01T00:04:00.000Z', '2026-01-01T00:04:30.000Z', 'ok'),
 (6, 1, 1, 'train', 'convbench train lenet.net --epochs 1', 1, 2, 'fixhost', 6, '2026-01-01T00:05:00.000Z', '2026-01-01T00:06:00.000Z', 'ok'),
 (7, 1, 2, 'peer', 'scripts/peers/pytorch_train.py lenet.net --epochs 1', 1, 2, 'fixhost', 7, '2026-01-01T00:07:00.000Z', '2026-01-01T00:08:00.000Z', 'ok'),
 (8, 1, 1, 'bench', 'convbench bench fixnet.net --batch 4 --backend cudnn', 1, 2, 'fixhost', 8, '2026-01-01T00:09:00.000Z', '2026-01-01T00:09:10.000Z', 'ok'),
 (9, 1, 1, 'bench', 'convbench bench fixnet.net --batch 4 --backend openblas', 1, 2, 'fixhost', 9, '2026-01-01T00:10:00.000Z', '2026-01-01T00:10:10.000Z', 'ok'),
 (10, 1, 1, 'check', 'convbench check lenet.net', 1, 2, 'fixhost', 10, '2026-01-01T00:11:00.000Z', '2026-01-01T00:11:10.000Z', 'ok');

INSERT INTO peaks (run_id, machine_id, isa, threads, gflops, gflops_per_core, seconds, measured,
  gflops_min, gflops_median, repeats, theoretical_gflops, clock_mhz, theoretical_how)
VALUES (1, 1, 'avx2', 2, 300.0, 150.0, 2.0, '2026-01-01T00:00:00.000Z', 280.0, 295.0, 8, 320.0,
  5000, '2 threads x 5000 MHz x 32 flops/cycle'),
-- A brief estimate (1 repeat) and a faulty peak (above its theoretical
-- rate), recorded later, that the report must not use.
 (1, 1, 'avx2', 2, 30.0, 15.0, 0.1, '2026-01-01T00:01:00.000Z', 30.0, 30.0, 1, 320.0, 5000, ''),
 (1, 1, 'avx2', 2, 900.0, 450.0, 2.0, '2026-01-01T00:02:00.000Z', 800.0, 850.0, 8, 320.0, 5000, '');

-- Whole net fixnet: net_results, then its layers (conv1, relu1, fc1).
INSERT INTO net_results (id, run_id, net, backend, single_layer, batch, threads, iters, warmup,
  input_grad, fwd_median_ms, fwd_samples, bwd_median_ms, bwd_samples, total_median_ms,
  total_samples, fwd_flops, bwd_flops, created)
VALUES
 (1, 1, 'fixnet', 'openblas', 0, 4, 2, 10, 1, 0, 10, 10, 30, 10, 40, 10, 2e9, 4e9, '2026-01-01T00:00:05.000Z'),
 (2, 1, 'fixnet', 'onednn',   0, 4, 2, 10, 1, 0,  8, 10, 12, 10, 20, 10, 2e9, 4e9, '2026-01-01T00:00:06.000Z'),
 (3, 2, 'fixnet', 'pytorch',  0, 4, 2, 10, 1, 0, 12, 10, 18, 10, 30, 10, 2e9, 4e9, '2026-01-01T00:01:05.000Z'),
 (4, 3, 'fixnet', 'darknet',  0, 4, 2, 10, 1, 0, 25, 10, 35, 10, 60, 10, 2e9, 4e9, '2026-01-01T00:02:05.000Z'),
 (5, 8, 'fixnet', 'cudnn',    0, 4, 2, 10, 1, 0,  1, 10,  2, 10,  3, 10, 2e9, 4e9, '2026-01-01T00:09:05.000Z'),
 (6, 9, 'fixnet', 'openblas', 0, 4, 2, 10, 1, 0, 20, 10, 60, 10, 80, 10, 2e9, 4e9, '2026-01-01T00:10:05.000Z'),
 (7, 4, 'convnet-layers', 'openblas', 1, 4, 2, 10, 1, 0, 1, 10, 2, 10, 3, 10, 1e9, 2e9, '2026-01-01T00:03:05.000Z'),
 (8, 4, 'convnet-layers', 'openblas', 1, 4, 2, 10, 1, 0, 2, 10, 4, 10, 6, 10, 2e9, 4e9, '2026-01-01T00:03:06.000Z'),
 (9, 2, 'convnet-layers', 'pytorch',  1, 4, 2, 10, 1, 0, 1.5, 10, 2.5, 10, 4, 10, 1e9, 2e9, '2026-01-01T00:01:07.000Z'),
 (10, 3, 'fixnet', 'darknet',  0, 4, 1, 10, 1, 0, 40, 10, 60, 10, 100, 10, 2e9, 4e9, '2026-01-01T00:02:08.000Z'),
 (11, 9, 'fixnet', 'openblas', 0, 4, 1, 10, 1, 0, 20, 10, 30, 10,  50, 10, 2e9, 4e9, '2026-01-01T00:10:08.000Z');

INSERT INTO layer_results (net_result_id, idx, name, kind, in_shape, out_shape, backend, variants,
  fallback, fwd_median_ms, fwd_samples, bwd_median_ms, bwd_samples, bwd_data_samples,
  bwd_filter_samples, fwd_flops, bwd_flops)
VALUES
 (1, 0, 'conv1', 'conv', '3x8x8', '4x8x8', 'openblas', 'fwd=openblas/im2col', 0, 6, 10, 20, 10, 0, 0, 1.5e9, 3e9),
 (1, 1, 'relu1', 'relu', '4x8x8', '4x8x8', 'openblas', '', 0, 1, 10, 1, 10, 0, 0, 0, 0),
 (1, 2, 'fc1', 'fc', '4x8x8', '10', 'openblas', 'fwd=openblas/sgemm', 0, 3, 10, 9, 10, 0, 0, 0.5e9, 1e9),
 (2, 0, 'conv1', 'conv', '3x8x8', '4x8x8', 'onednn', '', 0, 5, 10, 7, 10, 0, 0, 1.5e9, 3e9),
 (2, 1, 'relu1', 'relu', '4x8x8', '4x8x8', 'onednn', '', 0, 1, 10, 1, 10, 0, 0, 0, 0),
 (2, 2, 'fc1', 'fc', '4x8x8', '10', 'onednn', '', 0, 2, 10, 4, 10, 0, 0, 0.5e9, 1e9),
 (3, 0, 'conv1', 'conv', '3x8x8', '4x8x8', 'pytorch', 'pytorch', 0, 7, 10, 10, 10, 0, 0, 1.5e9, 3e9),
 (3, 1, 'relu1', 'relu', '4x8x8', '4x8x8', 'pytorch', 'pytorch', 0, 1, 10, 1, 10, 0, 0, 0, 0),
 (3, 2, 'fc1', 'fc', '4x8x8', '10', 'pytorch', 'pytorch', 0, 4, 10, 7, 10, 0, 0, 0.5e9, 1e9),
 -- darknet fuses the ReLU into conv1: two layers, matched by name.
 (4, 0, 'conv1', 'conv', '3x8x8', '4x8x8', 'darknet', 'darknet', 0, 20, 10, 25, 10, 0, 0, 1.5e9, 3e9),
 (4, 1, 'fc1', 'fc', '4x8x8', '10', 'darknet', 'darknet', 0, 5, 10, 10, 10, 0, 0, 0.5e9, 1e9),
 (5, 0, 'conv1', 'conv', '3x8x8', '4x8x8', 'cudnn', '', 0, 0.5, 10, 1, 10, 0, 0, 1.5e9, 3e9),
 (5, 1, 'relu1', 'relu', '4x8x8', '4x8x8', 'cudnn', '', 0, 0.25, 10, 0.5, 10, 0, 0, 0, 0),
 (5, 2, 'fc1', 'fc', '4x8x8', '10', 'cudnn', '', 0, 0.25, 10, 0.5, 10, 0, 0, 0.5e9, 1e9),
 (6, 0, 'conv1', 'conv', '3x8x8', '4x8x8', 'openblas', '', 0, 12, 10, 40, 10, 0, 0, 1.5e9, 3e9),
 (6, 1, 'relu1', 'relu', '4x8x8', '4x8x8', 'openblas', '', 0, 2, 10, 2, 10, 0, 0, 0, 0),
 (6, 2, 'fc1', 'fc', '4x8x8', '10', 'openblas', '', 0, 6, 10, 18, 10, 0, 0, 0.5e9, 1e9),
 (7, 0, 'L1', 'conv', '3x16x16', '8x8x8', 'openblas', '', 0, 1, 10, 2, 10, 0, 0, 1e9, 2e9),
 (8, 0, 'L2', 'conv', '8x16x16', '8x8x8', 'openblas', '', 0, 2, 10, 4, 10, 0, 0, 2e9, 4e9),
 (9, 0, 'L1', 'conv', '3x16x16', '8x8x8', 'pytorch', '', 0, 1.5, 10, 2.5, 10, 0, 0, 1e9, 2e9),
 (11, 0, 'conv1', 'conv', '3x8x8', '4x8x8', 'openblas', '', 0, 10, 10, 15, 10, 0, 0, 1.5e9, 3e9),
 (11, 1, 'relu1', 'relu', '4x8x8', '4x8x8', 'openblas', '', 0, 1, 10, 1, 10, 0, 0, 0, 0),
 (11, 2, 'fc1', 'fc', '4x8x8', '10', 'openblas', '', 0, 9, 10, 14, 10, 0, 0, 0.5e9, 1e9);

-- Device state: CPU samples of run 1, GPU samples of run 8 (schema 6 columns).
INSERT INTO device_samples (run_id, net_result_id, phase, t, t_unix, cpu_mhz_reported,
  cpu_mhz_measured, load1, busy, temp_c, gpu_index, gpu_name, gpu_sm_mhz, gpu_mem_mhz, gpu_temp_c,
  gpu_power_w, gpu_util, gpu_throttle)
VALUES
 (1, 1, 'before', '2026-01-01T00:00:01.000Z', 1767225601, 3000, 2900, 1.0, 0.1, 50, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (1, 1, 'after',  '2026-01-01T00:00:05.000Z', 1767225605, 3000, 2950, 1.5, 0.9, 60, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (1, 2, 'before', '2026-01-01T00:00:05.500Z', 1767225605.5, 3000, 2980, 1.6, 0.2, 58, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (1, 2, 'after',  '2026-01-01T00:00:06.000Z', 1767225606, 3000, 2990, 1.7, 0.9, 61, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (8, 5, 'before', '2026-01-01T00:09:01.000Z', 1767226141, 3000, NULL, 0.5, NULL, NULL, 0, 'Fixture GPU', 1410, 5000, 45, 90, 0, ''),
 (8, 5, 'after',  '2026-01-01T00:09:05.000Z', 1767226145, 3000, NULL, 0.7, NULL, NULL, 0, 'Fixture GPU', 1980, 5000, 71, 250, 99, 'sw_power_cap');

-- Tuning: two problems, their candidates, the winners; one imported row.
INSERT INTO problems (id, key, op, flops) VALUES
 (1, 'conv_fwd:f32:nchw:n4c3h8w8_k4r3s3_p1x1_u1x1_d1x1_g1', 'conv_fwd', 1e8),
 (2, 'gemm:f32:nt:m64n64k64', 'gemm', 524288),
 (3, 'conv_fwd:f32:nchw:n4c4h8w8_k4r3s3_p1x1_u1x1_d1x1_g1', 'conv_fwd', 2e8);

INSERT INTO measurements (id, run_id, problem_id, device_fp, build_fp, threads, backend, variant,
  params, status, max_rel_err, median_ms, min_ms, max_ms, mad_ms, samples, gflops, noisy,
  mhz_before, mhz_after, load_before, load_after, busy_after, temp_after, created,
  gpu_sm_mhz_after, gpu_temp_after, gpu_power_after, gpu_throttle_after)
VALUES
 (1, 5, 1, 'dev', 'build-fp', 2, 'onednn', 'direct', '', 'ok', 0, 0.5, 0.5, 0.6, 0.01, 10, 200, 0, 3000, 2950, 0.5, 1.2, 0.9, 55, '2026-01-01T00:04:05.000Z', NULL, NULL, NULL, NULL),
 (2, 5, 1, 'dev', 'build-fp', 2, 'openblas', 'im2col', '', 'ok', 0, 1.0, 1.0, 1.1, 0.01, 10, 100, 0, 3000, 2940, 0.5, 1.4, 0.9, 56, '2026-01-01T00:04:10.000Z', NULL, NULL, NULL, NULL),
 (3, 5, 2, 'dev', 'build-fp', 2, 'openblas', 'sgemm', '', 'ok', 0, 0.01, 0.01, 0.02, 0.001, 10, 52, 0, 3000, 2930, 0.5, 1.6, 0.9, 57, '2026-01-01T00:04:20.000Z', 1500, 60, 120, ''),
 (4, 5, 2, 'dev', 'build-fp', 2, 'onednn', 'matmul', '', 'ok', 0, 0.015, 0.015, 0.02, 0.001, 10, 35, 0, 3000, 2920, 0.5, 1.8, 0.9, 58, '2026-01-01T00:04:25.000Z', NULL, NULL, NULL, NULL);

INSERT INTO tune_cache (problem_id, device_fp, device_generation, build_fp, backend, variant,
  params, median_ms, min_ms, max_ms, mad_ms, samples, runner_up, runner_up_median_ms, source,
  origin, measured, measurement_id)
VALUES
 (1, 'dev', 'gen', 'build-fp', 'onednn', 'direct', '', 0.5, 0.5, 0.6, 0.01, 10, 'openblas/im2col', 1.0, 'local', 'local', '2026-01-01T00:04:10.000Z', 1),
 (2, 'dev', 'gen', 'build-fp', 'openblas', 'sgemm', '', 0.01, 0.01, 0.02, 0.001, 10, 'onednn/matmul', 0.015, 'local', 'local', '2026-01-01T00:04:25.000Z', 3),
 (3, 'dev', 'gen', 'build-fp', 'fftw', 'tiled', '8', 0.4, 0.4, 0.5, 0.01, 10, 'onednn/direct', 0.5, 'imported', 'other-host.jsonl', '2026-01-01T00:00:00.000Z', NULL);

-- Training: convbench (run 6, backend cpu) and the PyTorch peer (run 7).
INSERT INTO train_steps (run_id, net, backend, epoch, step, loss, accuracy, lr, images_per_s, seconds)
VALUES
 (6, 'lenet', 'cpu', 1, 1, 2.30, 0.10, 0.01, 1000, 0.5),
 (6, 'lenet', 'cpu', 1, 2, 1.80, 0.35, 0.01, 1100, 1.0),
 (6, 'lenet', 'cpu', 1, 3, 1.20, 0.60, 0.01, 1100, 1.5),
 (6, 'lenet', 'cpu', 1, 4, 0.90, 0.72, 0.01, 1100, 2.0),
 (6, 'lenet', 'cpu', 1, 5, 0.70, 0.80, 0.01, 1100, 2.5),
 (7, 'lenet', 'pytorch', 1, 1, 2.31, 0.09, 0.01, 900, 0.6),
 (7, 'lenet', 'pytorch', 1, 2, 1.85, 0.33, 0.01, 900, 1.2),
 (7, 'lenet', 'pytorch', 1, 3, 1.25, 0.58, 0.01, 900, 1.8),
 (7, 'lenet', 'pytorch', 1, 4, 0.95, 0.70, 0.01, 900, 2.4),
 (7, 'lenet', 'pytorch', 1, 5, 0.75, 0.79, 0.01, 900, 3.0);

INSERT INTO train_epochs (run_id, net, backend, dataset, batch, threads, epoch, steps, train_loss,
  train_accuracy, test_loss, test_accuracy, lr, images_per_s, epoch_seconds, seconds, created)
VALUES
 (6, 'lenet', 'cpu', 'fashion-mnist', 64, 2, 1, 5, 0.7000, 0.8000, 0.7500, 0.7812, 0.01, 1100, 2.5, 2.5, '2026-01-01T00:06:00.000Z'),
 (7, 'lenet', 'pytorch', 'fashion-mnist', 64, 2, 1, 5, 0.7500, 0.7900, 0.7700, 0.7755, 0.01, 900, 3.0, 3.0, '2026-01-01T00:08:00.000Z');

INSERT INTO grad_checks (run_id, net, layer, kind, backend, variant, what, batch, max_abs_err,
  max_rel_err, threshold, pass, created)
VALUES
 (10, 'lenet', 'conv1', 'conv', 'ref', NULL, 'fd_input', 2, 1e-4, 2e-3, 1e-2, 1, '2026-01-01T00:11:01.000Z'),
 (10, 'lenet', 'fc1', 'fc', 'ref', NULL, 'fd_input', 2, 2e-4, 3e-3, 1e-2, 1, '2026-01-01T00:11:02.000Z'),
 (10, 'lenet', 'conv1', 'conv', 'onednn', 'direct', 'bwd_data', 2, 1e-6, 1e-5, 1e-4, 1, '2026-01-01T00:11:03.000Z'),
 (10, 'lenet', 'fc1', 'fc', 'onednn', 'matmul', 'bwd_data', 2, 0.5, 0.25, 1e-4, 0, '2026-01-01T00:11:04.000Z');
