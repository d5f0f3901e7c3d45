"""Host wall-clock scaling of ``NAME_part`` over threads (part of the optional host comparison).

A C driver of our own (host ``cc``, libc and pthreads only) keeps ``T - 1`` worker threads
spinning on a round counter, so a timed call costs a hand-off, not thread starts or futex
wake-ups. It times ``NAME`` for one thread and ``NAME_part`` from ``T`` threads (the calling
thread is part 0) as ``host`` times a call: the median of timed batches of at least 2 ms. Its
output must equal one call of ``NAME`` bit for bit before its time counts.
"""

from __future__ import annotations

import math
import re
import statistics
from pathlib import Path

from ..errors import InternalError
from ..spec import ConvSpec
from ..toolchain import run

THREADS = (1, 2, 4)
# The target: at least this speed-up at 2 threads on the large layers, the kernels
# whose input and output together are at least LARGE_BYTES: more than Neoverse V1's L2 holds
# (the kernels with bands). A size, not a time: the layers that took 200 us on one VM took
# less on the next, and the target then had no kernel to judge.
MIN_SCALING_2 = 1.7
# Passes over every kernel's driver: on a 2-vCPU VM one run of 2 threads (21 batches, about
# 50 ms) sometimes lost the second vCPU throughout and timed 1.0x, where the runs before and
# after timed 1.9-2.1x (c3d_3x3x3_c256); the median of 5 passes drops such runs.
ROUNDS = 5
LARGE_BYTES = 1024 * 1024


def is_large(spec: ConvSpec) -> bool:
    """Whether ``spec`` is a large layer for the 2-thread target (LARGE_BYTES)."""
    bits = math.prod(spec.input_shape) * spec.in_bits + math.prod(spec.output_shape) * spec.out_bits
    return bits // 8 >= LARGE_BYTES


_DRIVER = """\
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "{name}.h"

static float *dw_in, *dw_flt, *dw_out;
static int dw_threads;
/* Spinning hand-off, as OpenMP runtimes do between parallel regions: a sleeping worker
   woken through the kernel (a futex) took tens of microseconds in the VM we measured on.
   After 1000 spins a waiting thread yields, for more threads than cores. */
static atomic_long dw_round, dw_done;
static atomic_int dw_stop;

/* Thread t runs on CPU t mod CPUs: left to the scheduler, a new worker sometimes shared the
   caller's CPU for a whole run, and two threads ran no faster than one. */
static void dw_pin(int t) {{
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpus > 0 ? t % cpus : 0, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}}

static void *dw_worker(void *arg) {{
  const int part = (int)(intptr_t)arg;
  dw_pin(part);
  long seen = 0;
  for (;;) {{
    long round;
    for (long spins = 0; (round = atomic_load_explicit(&dw_round, memory_order_acquire)) == seen; ++spins) {{
      if (atomic_load_explicit(&dw_stop, memory_order_relaxed)) return 0;
      if (spins > 1000) sched_yield(); /* more threads than cores: let the others run */
    }}
    seen = round;
    {name}_part(dw_in, dw_flt, dw_out, part, dw_threads);
    atomic_fetch_add_explicit(&dw_done, 1, memory_order_release);
  }}
}}

static void dw_call(void) {{
  if (dw_threads == 1) {{
    {name}(dw_in, dw_flt, dw_out);
    return;
  }}
  const long target = atomic_load_explicit(&dw_done, memory_order_relaxed) + dw_threads - 1;
  atomic_fetch_add_explicit(&dw_round, 1, memory_order_release);
  {name}_part(dw_in, dw_flt, dw_out, 0, dw_threads);
  for (long spins = 0; atomic_load_explicit(&dw_done, memory_order_acquire) != target; ++spins)
    if (spins > 1000) sched_yield();
}}

static double dw_now(void) {{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}}

static int dw_cmp(const void *a, const void *b) {{
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}}

int main(int argc, char **argv) {{
  if (argc != 3) return 2;
  dw_threads = atoi(argv[1]);
  const int repeats = atoi(argv[2]);
  if (dw_threads < 1 || repeats < 1) return 2;
  const size_t n_in = {name}_INPUT_SIZE, n_flt = {name}_FILTER_SIZE, n_out = {name}_OUTPUT_SIZE;
  dw_in = malloc(n_in * sizeof(float));
  dw_flt = malloc(n_flt * sizeof(float));
  dw_out = malloc(n_out * sizeof(float));
  float *want = malloc(n_out * sizeof(float));
  double *samples = malloc(repeats * sizeof(double));
  pthread_t *workers = malloc(sizeof(pthread_t) * dw_threads);
  if (!dw_in || !dw_flt || !dw_out || !want || !samples || !workers) return 3;
  for (size_t i = 0; i < n_in; ++i) dw_in[i] = (float)((int)(i * 7919 % 23) - 11) / 8.0f;
  for (size_t i = 0; i < n_flt; ++i) dw_flt[i] = (float)((int)(i * 104729 % 19) - 9) / 16.0f;
  {name}(dw_in, dw_flt, want);
  dw_pin(0);
  for (int t = 1; t < dw_threads; ++t)
    if (pthread_create(&workers[t], 0, dw_worker, (void *)(intptr_t)t)) return 3;
  memset(dw_out, 0x7f, n_out * sizeof(float));
  dw_call();
  const int same = memcmp(dw_out, want, n_out * sizeof(float)) == 0;
  long batch = 1;
  for (;;) {{
    const double start = dw_now();
    for (long i = 0; i < batch; ++i) dw_call();
    if (dw_now() - start >= 2e-3) break;
    batch *= 2;
  }}
  for (int r = 0; r < repeats; ++r) {{
    const double start = dw_now();
    for (long i = 0; i < batch; ++i) dw_call();
    samples[r] = (dw_now() - start) / batch;
  }}
  qsort(samples, repeats, sizeof(double), dw_cmp);
  atomic_store(&dw_stop, 1);
  for (int t = 1; t < dw_threads; ++t) pthread_join(workers[t], 0);
  printf("threads=%d seconds=%.9g same=%d\\n", dw_threads, samples[repeats / 2], same);
  return 0;
}}
"""

_RESULT = re.compile(r"^threads=(\d+) seconds=(\S+) same=([01])$", re.MULTILINE)


def thread_driver(spec: ConvSpec, obj: Path, header_dir: Path, work: Path) -> Path:
    """The driver executable that times the host kernel ``obj`` (``time_threads``)."""
    driver = work / f"{spec.name}_threads.c"
    exe = work / f"{spec.name}_threads"
    driver.write_text(_DRIVER.format(name=spec.name))
    run(
        ["cc", "-O2", "-pthread", "-I", header_dir, driver, obj, "-lm", "-o", exe], what=f"linking {exe.name}"
    )
    return exe


def time_threads(spec: ConvSpec, exe: Path, repeats: int) -> dict[int, float]:
    """One run of the driver ``exe`` per thread count of ``THREADS`` (1: NAME, more: NAME_part
    from that many threads): its median seconds per call. Raises InternalError if a share's
    output differs."""
    seconds: dict[int, float] = {}
    for n in THREADS:
        out = run([exe, str(n), str(repeats)], what=f"{spec.name} on {n} host threads").stdout.decode()
        m = _RESULT.search(out)
        if m is None:
            raise InternalError(f"{spec.name} on {n} host threads printed {out.strip()!r}")
        if m.group(3) != "1":
            raise InternalError(
                f"{spec.name}_part from {n} host threads differs from one call of {spec.name}"
            )
        seconds[n] = float(m.group(2))
    return seconds


def thread_scaling(drivers: list[tuple[ConvSpec, Path]], repeats: int) -> list[dict[int, float]]:
    """Seconds per call of each driver's kernel at each of ``THREADS``: the median over ROUNDS
    passes over every driver (``time_threads``), so that a run of one kernel is some seconds
    from its next one."""
    runs = [[time_threads(spec, exe, repeats) for spec, exe in drivers] for _ in range(ROUNDS)]
    return [{n: statistics.median(r[i][n] for r in runs) for n in THREADS} for i in range(len(drivers))]
