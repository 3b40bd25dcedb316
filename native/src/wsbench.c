/* wsbench: world-switch and memory microbenchmarks. Each case is a row of a table (host references and the
 * KVM cases); select rows by name, get one JSON object per line with every raw sample.
 *   wsbench --list
 *   wsbench [--case NAME]... [--time-goal-ms N] [--cpu N] [--repeat N]
 * A case this host cannot run prints {"case":..., "status":"skip", "reason":...}; it is never a failure. */
#include "wsbench.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct bench_case *find(const char *name)
{
    for (size_t i = 0; i < host_case_count; i++)
        if (!strcmp(host_cases[i].name, name))
            return &host_cases[i];
    for (size_t i = 0; i < vm_case_count; i++)
        if (!strcmp(vm_cases[i].name, name))
            return &vm_cases[i];
    return NULL;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 32)
            printf("\\u%04x", *s);
        else
            putchar(*s);
    }
    putchar('"');
}

static int run_one(const struct bench_case *c, const struct options *o)
{
    const char *why = c->check(c);
    printf("{\"case\":");
    json_string(c->name);
    if (why) {
        printf(",\"status\":\"skip\",\"reason\":");
        json_string(why);
        printf("}\n");
        fprintf(stderr, "SKIP %s: %s\n", c->name, why);
        fflush(stdout);
        return 0;
    }
    struct result r = {0};
    char err[512] = "";
    if (c->run(c, o, &r, err, sizeof err) < 0) {
        printf(",\"status\":\"error\",\"reason\":");
        json_string(err);
        printf("}\n");
        fprintf(stderr, "ERROR %s: %s\n", c->name, err);
        fflush(stdout);
        free(r.samples);
        return 1;
    }
    printf(",\"status\":\"ok\",\"what\":");
    json_string(c->what);
    printf(",\"unit\":\"%s\",\"tick_hz\":%.0f,\"empty_ticks\":%.2f,\"iterations\":%llu%s,\"samples\":[",
           r.unit, tick_hz(), r.empty_ticks, (unsigned long long)r.iterations, r.extra);
    for (size_t i = 0; i < r.n; i++)
        printf(i ? ",%.6g" : "%.6g", r.samples[i]);
    printf("]}\n");
    fflush(stdout);
    free(r.samples);
    return 0;
}

/* The noisy neighbour: a triad over 3 × 128 MiB forever, busy `duty` percent of every 10 ms and asleep the
 * rest — a bandwidth share enforced in time, standing in for an MPAM memory-bandwidth limit where there is no
 * resctrl. Ends when killed. */
static int cotenant(int duty)
{
    size_t n = 16u << 20;
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    if (!a || !b || !c)
        return 3;
    for (size_t i = 0; i < n; i++) { a[i] = 0; b[i] = 1; c[i] = 2; }
    double hz = tick_hz();
    uint64_t slice = (uint64_t)(0.010 * hz), busy = slice * duty / 100;
    size_t i = 0;
    for (;;) {
        uint64_t t0 = ticks_now();
        while (ticks_now() - t0 < busy) {
            for (size_t k = 0; k < 65536; k++, i = (i + 1) % n)
                a[i] = b[i] + 3.0 * c[i];
        }
        uint64_t rest = slice - busy;
        if (rest > 0) {
            struct timespec ts = {0, (long)(rest / hz * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
}

int main(int argc, char **argv)
{
    struct options o = {.time_goal_s = 0.2, .min_iterations = 1024, .max_iterations = 1 << 20, .cpu = -1, .repeat = 5};
    const char *selected[256];
    int nsel = 0, cotenant_duty = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--list")) {
            for (size_t k = 0; k < host_case_count; k++)
                printf("%-28s %s\n", host_cases[k].name, host_cases[k].what);
            for (size_t k = 0; k < vm_case_count; k++)
                printf("%-28s %s\n", vm_cases[k].name, vm_cases[k].what);
            return 0;
        } else if (!strcmp(argv[i], "--case") && i + 1 < argc) {
            if (nsel < 256)
                selected[nsel++] = argv[++i];
        } else if (!strcmp(argv[i], "--time-goal-ms") && i + 1 < argc) {
            o.time_goal_s = atof(argv[++i]) / 1000;
        } else if (!strcmp(argv[i], "--max-iterations") && i + 1 < argc) {
            o.max_iterations = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--cpu") && i + 1 < argc) {
            o.cpu = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) {
            o.repeat = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--cotenant-duty") && i + 1 < argc) {
            cotenant_duty = atoi(argv[++i]);
        } else {
            fprintf(stderr, "wsbench: unknown argument '%s'; usage: wsbench [--list] [--case NAME]... [--time-goal-ms N] "
                            "[--max-iterations N] [--cpu N] [--repeat N]\n", argv[i]);
            return 2;
        }
    }
    for (int i = 0; i < nsel; i++)
        if (!find(selected[i])) {
            fprintf(stderr, "wsbench: unknown case '%s'; valid cases:", selected[i]);
            for (size_t k = 0; k < host_case_count; k++)
                fprintf(stderr, " %s", host_cases[k].name);
            for (size_t k = 0; k < vm_case_count; k++)
                fprintf(stderr, " %s", vm_cases[k].name);
            fprintf(stderr, "\n");
            return 2;
        }
    if (o.cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(o.cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) < 0) {
            fprintf(stderr, "wsbench: cannot pin to CPU %d: %s\n", o.cpu, strerror(errno));
            return 3;
        }
    }
    tick_hz();
    if (cotenant_duty >= 0)
        return cotenant(cotenant_duty > 100 ? 100 : cotenant_duty);
    int failed = 0;
    if (nsel == 0) {
        for (size_t k = 0; k < host_case_count; k++)
            failed |= run_one(&host_cases[k], &o);
        for (size_t k = 0; k < vm_case_count; k++)
            failed |= run_one(&vm_cases[k], &o);
    } else {
        for (int i = 0; i < nsel; i++)
            failed |= run_one(find(selected[i]), &o);
    }
    return failed ? 1 : 0;
}
