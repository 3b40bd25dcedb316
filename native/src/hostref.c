/* Host references: the non-confidential costs of the same primitives, measured on the host itself. */
#include "wsbench.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MIB (1ULL << 20)

static const char *always(const struct bench_case *c)
{
    (void)c;
    return NULL;
}

/* Per-operation samples of a tight loop: each sample is one operation timed with the counter. */
static int per_op(void (*op)(void), const struct options *o, struct result *res)
{
    uint64_t n = o->min_iterations * 16;
    if (n > 200000)
        n = 200000;
    for (int w = 0; w < 1000; w++)
        op();
    double *empty = malloc(n * sizeof *empty);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t t0 = ticks_now();
        uint64_t t1 = ticks_now();
        empty[i] = (double)(t1 - t0);
    }
    res->empty_ticks = median_of(empty, n);
    free(empty);
    result_alloc(res, n);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t t0 = ticks_now();
        op();
        res->samples[i] = (double)(ticks_now() - t0) - res->empty_ticks;
    }
    res->unit = "ticks";
    res->iterations = n;
    return 0;
}

static void op_getppid(void) { syscall(SYS_getppid); }

#if defined(__x86_64__)
static void op_cpuid(void)
{
    unsigned a = 0, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
}
#endif

static volatile sig_atomic_t got;
static void on_signal(int s) { (void)s; got = 1; }
static void op_signal(void) { raise(SIGUSR1); }

static int run_syscall(const struct bench_case *c, const struct options *o, struct result *r, char *e, size_t el)
{
    (void)c; (void)e; (void)el;
    return per_op(op_getppid, o, r);
}

static int run_cpuid(const struct bench_case *c, const struct options *o, struct result *r, char *e, size_t el)
{
    (void)c;
#if defined(__x86_64__)
    (void)e; (void)el;
    int rc = per_op(op_cpuid, o, r);
    extra_add(r, ",\"note\":\"cpuid traps to the hypervisor when the host is itself a guest\"");
    return rc;
#else
    (void)o; (void)r;
    snprintf(e, el, "cpuid is x86-only");
    return -1;
#endif
}

static int run_signal(const struct bench_case *c, const struct options *o, struct result *r, char *e, size_t el)
{
    (void)c; (void)e; (void)el;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGUSR1, &sa, NULL);
    return per_op(op_signal, o, r);
}

/* Anonymous memory aligned to 2 MiB so THP can back it whole; *base is what to munmap (size + 2 MiB). */
static uint8_t *map_aligned(size_t size, int thp, uint8_t **base)
{
    uint8_t *p = mmap(NULL, size + 2 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    *base = p;
    uint8_t *a = (uint8_t *)(((uintptr_t)p + 2 * MIB - 1) & ~(2 * MIB - 1));
    madvise(a, size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    return a;
}

/* First touch of fresh anonymous memory. a: 0 = 4 KiB pages (THP off), 1 = 2 MiB (THP); c: MiB. */
static int run_native_fault(const struct bench_case *c, const struct options *o, struct result *r, char *e, size_t el)
{
    (void)o;
    size_t size = (size_t)c->mib * MIB;
    uint8_t *p, *a = map_aligned(size, (int)c->variant, &p);
    if (!a)
        return snprintf(e, el, "mmap failed"), -1;
    size_t pages = size / 4096;
    result_alloc(r, pages);
    uint64_t total0 = ticks_now();
    for (size_t i = 0; i < pages; i++) {
        uint64_t t0 = ticks_now();
        a[i * 4096] = 1;
        r->samples[i] = (double)(ticks_now() - t0);
    }
    uint64_t cold = ticks_now() - total0;
    total0 = ticks_now();
    for (size_t i = 0; i < pages; i++)
        a[i * 4096] = 2;
    uint64_t warm = ticks_now() - total0;
    r->unit = "ticks";
    r->iterations = pages;
    extra_add(r, ",\"region_mib\":%ld,\"cold_total_ticks\":%llu,\"warm_total_ticks\":%llu,\"cold_ticks_per_mib\":%.1f",
              c->mib, (unsigned long long)cold, (unsigned long long)warm, (double)cold / c->mib);
    munmap(p, size + 2 * MIB);
    return 0;
}

/* Dependent pointer chase on the host. a: 0 = 4 KiB, 1 = THP; c: MiB. */
static int run_native_chase(const struct bench_case *c, const struct options *o, struct result *r, char *e, size_t el)
{
    size_t size = (size_t)c->mib * MIB;
    uint8_t *p, *a = map_aligned(size, (int)c->variant, &p);
    if (!a)
        return snprintf(e, el, "mmap failed"), -1;
    size_t lines = size / 64;
    chase_build(a, (uint64_t)(uintptr_t)a, size);
    uint64_t steps = lines < 4000000 ? 4000000 : lines;
    void **q = (void **)a;
    for (size_t i = 0; i < lines; i++)
        q = *q;
    int reps = o->repeat > 0 ? o->repeat : 5;
    result_alloc(r, reps);
    for (int k = 0; k < reps; k++) {
        uint64_t t0 = ticks_now();
        for (uint64_t i = 0; i < steps; i++)
            q = *q;
        r->samples[k] = (double)(ticks_now() - t0) / steps;
    }
    __asm__ volatile("" ::"r"(q));
    r->unit = "ticks";
    r->iterations = steps;
    extra_add(r, ",\"buffer_mib\":%ld", c->mib);
    munmap(p, size + 2 * MIB);
    return 0;
}

/* STREAM-style copy (a = b) and triad (a = b + s·c), bytes counted as STREAM does. a: 0 copy, 1 triad; b: threads. */
struct stream_arg {
    double *a, *b, *c;
    size_t from, to;
    int triad;
};

static void *stream_worker(void *p)
{
    struct stream_arg *s = p;
    if (s->triad)
        for (size_t i = s->from; i < s->to; i++)
            s->a[i] = s->b[i] + 3.0 * s->c[i];
    else
        for (size_t i = s->from; i < s->to; i++)
            s->a[i] = s->b[i];
    return NULL;
}

static int run_stream(const struct bench_case *c, const struct options *o, struct result *r, char *e, size_t el)
{
    size_t n = 32u << 20; /* 3 × 256 MiB */
    int threads = c->threads > 0 ? (int)c->threads : 1;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (threads > cpus)
        return snprintf(e, el, "asks for %d threads, this host has %ld CPUs", threads, cpus), -1;
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *cc = malloc(n * sizeof *cc);
    for (size_t i = 0; i < n; i++) { a[i] = 0; b[i] = 1; cc[i] = 2; }
    int reps = o->repeat > 0 ? o->repeat : 5;
    result_alloc(r, reps);
    pthread_t t[64];
    struct stream_arg args[64];
    for (int k = 0; k < reps; k++) {
        uint64_t t0 = ticks_now();
        for (int i = 0; i < threads; i++) {
            args[i] = (struct stream_arg){a, b, cc, n * i / threads, n * (i + 1) / threads, (int)c->variant};
            pthread_create(&t[i], NULL, stream_worker, &args[i]);
        }
        for (int i = 0; i < threads; i++)
            pthread_join(t[i], NULL);
        double secs = (ticks_now() - t0) / tick_hz();
        r->samples[k] = (c->variant ? 24.0 : 16.0) * n / secs;
    }
    r->unit = "bytes_per_s";
    r->iterations = n;
    extra_add(r, ",\"threads\":%d,\"array_mib\":%zu", threads, n * sizeof(double) >> 20);
    free(a); free(b); free(cc);
    return 0;
}

const struct bench_case host_cases[] = {
    {"host.syscall", "getppid round trip", always, run_syscall, 0, 0, 0, 0},
    {"host.cpuid", "cpuid (traps to the outer hypervisor when the host is a guest)", always, run_cpuid, 0, 0, 0, 0},
    {"host.signal", "raise and handle SIGUSR1", always, run_signal, 0, 0, 0, 0},
    {"host.fault.4k", "first touch of fresh memory, 4 KiB pages", always, run_native_fault, 0, 0, 64, 0},
    {"host.fault.2m", "first touch of fresh memory, THP 2 MiB", always, run_native_fault, 1, 0, 64, 0},
    {"host.chase.4k.1m", "pointer chase, 4 KiB pages", always, run_native_chase, 0, 0, 1, 0},
    {"host.chase.2m.2m", "pointer chase, THP", always, run_native_chase, 1, 0, 2, 0},
    {"host.chase.4k.256m", "pointer chase, 4 KiB pages", always, run_native_chase, 0, 0, 256, 0},
    {"host.chase.2m.256m", "pointer chase, THP", always, run_native_chase, 1, 0, 256, 0},
    {"host.chase.4k.1g", "pointer chase, 4 KiB pages", always, run_native_chase, 0, 0, 1024, 0},
    {"host.chase.2m.1g", "pointer chase, THP", always, run_native_chase, 1, 0, 1024, 0},
    {"host.stream.copy.t1", "STREAM-style copy, 1 thread", always, run_stream, 0, 0, 0, 1},
    {"host.stream.triad.t1", "STREAM-style triad, 1 thread", always, run_stream, 1, 0, 0, 1},
    {"host.stream.copy.t2", "STREAM-style copy, 2 threads", always, run_stream, 0, 0, 0, 2},
    {"host.stream.triad.t2", "STREAM-style triad, 2 threads", always, run_stream, 1, 0, 0, 2},
};
const size_t host_case_count = sizeof host_cases / sizeof host_cases[0];
