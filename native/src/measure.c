/* Counters, medians and the adaptive iteration count (kvm-unit-tests' habit: double until a time goal). */
#include "wsbench.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
uint64_t ticks_now(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
#elif defined(__aarch64__)
uint64_t ticks_now(void)
{
    uint64_t v;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
    return v;
}
#endif

static __attribute__((unused)) double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The counter's frequency, measured against CLOCK_MONOTONIC over 200 ms (on arm64 CNTFRQ_EL0 says it). */
double tick_hz(void)
{
    static double hz;
    if (hz > 0)
        return hz;
#if defined(__aarch64__)
    uint64_t f;
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
    hz = (double)f;
#else
    double t0 = now_s();
    uint64_t c0 = ticks_now();
    while (now_s() - t0 < 0.2)
        ;
    hz = (ticks_now() - c0) / (now_s() - t0);
#endif
    return hz;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double median_of(double *v, size_t n)
{
    if (n == 0)
        return 0;
    double *c = malloc(n * sizeof *c);
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_double);
    double m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    free(c);
    return m;
}

double ticks_median(const uint64_t *ticks, uint64_t n)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    for (uint64_t i = 0; i < n; i++)
        v[i] = (double)ticks[i];
    double m = median_of(v, n);
    free(v);
    return m;
}

int result_ticks(struct result *r, const uint64_t *ticks, uint64_t n, double empty_ticks)
{
    if (result_alloc(r, n) < 0)
        return -1;
    for (uint64_t i = 0; i < n; i++)
        r->samples[i] = (double)ticks[i] - empty_ticks;
    r->empty_ticks = empty_ticks;
    r->unit = "ticks";
    r->iterations = n;
    return 0;
}

int result_alloc(struct result *r, size_t n)
{
    r->samples = calloc(n ? n : 1, sizeof(double));
    r->n = n;
    return r->samples ? 0 : -1;
}

void extra_add(struct result *r, const char *fmt, ...)
{
    size_t used = strlen(r->extra);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->extra + used, sizeof r->extra - used, fmt, ap);
    va_end(ap);
}

uint64_t grow_iterations(const struct options *o, double (*batch_seconds)(uint64_t, void *), void *ctx)
{
    uint64_t n = o->min_iterations;
    while (n < o->max_iterations) {
        if (batch_seconds(n, ctx) >= o->time_goal_s)
            break;
        n *= 2;
    }
    return n > o->max_iterations ? o->max_iterations : n;
}
