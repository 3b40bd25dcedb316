/* Shared declarations of wsbench: the case table, measurement helpers and the output format. */
#ifndef WSBENCH_H
#define WSBENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What one case run produced: raw per-operation costs in counter ticks, and what the case adds to the record. */
struct result {
    const char *unit;           /* "ticks" (per-op counter ticks) or "bytes_per_s" etc. */
    double tick_hz;             /* counter frequency: ticks / tick_hz = seconds */
    double empty_ticks;         /* the empty loop's median per-iteration cost, already subtracted */
    uint64_t iterations;
    double *samples;            /* one value per sample, in unit */
    size_t n;
    char extra[2048];           /* JSON members (",\"k\":v...") the case adds: counts from KVM stats, settings */
};

struct options {
    double time_goal_s;         /* grow iterations until one measured batch takes this long */
    uint64_t min_iterations, max_iterations;
    int cpu;                    /* pin to this CPU (-1: do not) */
    int repeat;                 /* repetitions for distributions of per-batch values */
};

/* A case: a row of the table. check() returns NULL if this host can run it, else the reason to skip. */
struct bench_case {
    const char *name;
    const char *what;
    const char *(*check)(const struct bench_case *);
    int (*run)(const struct bench_case *, const struct options *, struct result *, char *err, size_t errlen);
    long variant;               /* which form of the operation: page kind (0 4 KiB, 1 2 MiB), exit kind, copy (0) or triad (1), bytes per exit */
    long backing;               /* host backing of guest memory (enum backing in vmm_x86_64.c); 0 where there is no guest */
    long mib;                   /* the buffer's size in MiB */
    long threads;               /* threads that run the operation (STREAM rows); 0 means one */
};

extern const struct bench_case host_cases[];
extern const size_t host_case_count;
extern const struct bench_case vm_cases[];
extern const size_t vm_case_count;

/* measure.c */
uint64_t ticks_now(void);
double tick_hz(void);
double median_of(double *v, size_t n);
int result_alloc(struct result *r, size_t n);
/* Per-iteration ticks a guest program left in its memory: their median (the empty loop's cost, to subtract). */
double ticks_median(const uint64_t *ticks, uint64_t n);
/* An exit case's samples: each iteration's ticks less the empty loop's median; unit "ticks". */
int result_ticks(struct result *r, const uint64_t *ticks, uint64_t n, double empty_ticks);
void extra_add(struct result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t grow_iterations(const struct options *o, double (*batch_seconds)(uint64_t iters, void *ctx), void *ctx);

/* kvmstats.c: KVM's binary statistics of a VM or vCPU file descriptor. */
struct kvm_stats;
struct kvm_stats *kvm_stats_open(int fd);
int kvm_stats_read(struct kvm_stats *s, const char *name, uint64_t *value);
void kvm_stats_close(struct kvm_stats *s);
const char *kvm_device(void);                       /* /dev/kvm, or WSBENCH_KVM_DEVICE */
const char *kvm_check(const struct bench_case *c);  /* NULL if KVM can be opened, else why not */

/* A seeded random permutation of 0..n-1 (Fisher–Yates with xorshift): the visiting order of a pointer chase
 * whose nodes form one single cycle when each points at the next in this order. */
void random_cycle(uint32_t *order, size_t n);

/* One chase node per 64-byte line of mem, each holding the address (as the code that chases sees it:
 * address_of_mem is where mem sits for it) of the next node in random_cycle's order. */
void chase_build(uint8_t *mem, uint64_t address_of_mem, size_t size);

#endif
