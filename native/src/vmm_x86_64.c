/* A tiny KVM VMM for x86-64: one VM, memslots, one vCPU started directly in 64-bit mode, and the cases that
 * measure exits, stage-2 (or shadow) faults, TLB reach and batched host calls. kvm-unit-tests style: each
 * case is a row; a missing capability is a skip with its reason. */
#include "wsbench.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define GIB (1ULL << 30)
#define MIB (1ULL << 20)
#define DONE_PORT 0x500
#define BENCH_PORT 0x510
#define EVENT_PORT 0x520
#define LOW_SIZE (48 * MIB)           /* page tables, code, stack, results, 4 KiB page tables of the data slot */
#define PML4 0x1000ULL
#define PDPT 0x2000ULL
#define PD_LOW 0x3000ULL              /* maps GPA 0..1 GiB with 2 MiB pages */
#define PD_DATA 0x4000ULL             /* four PDs for the data slot's 4 GiB */
#define TSS 0xa000ULL
#define TSS_SIZE (0x68 + 8192 + 1)
#define CODE 0x100000ULL
#define STACK_TOP 0x1f0000ULL
#define RESULTS 0x200000ULL
#define RESULTS_MAX ((32 * MIB - RESULTS) / 8)
#define PT_AREA (32 * MIB)            /* up to 2048 page tables: 4 GiB of 4 KiB mappings */
#define MMIO_GPA (768 * MIB)          /* mapped by the guest page tables, no memslot: every access exits */
#define DATA_GPA (4 * GIB)
#define PTE_P 1ULL
#define PTE_RW 2ULL
#define PTE_US 4ULL
#define PTE_PS 0x80ULL

extern const char guest_begin[], guest_end[], g_pio[], g_mmio[], g_empty[], g_touch[], g_chase[], g_batch[], g_hlt[];

enum backing { BACK_4K, BACK_THP, BACK_HUGETLB };

struct vm {
    int kvm, fd, vcpu;
    struct kvm_run *run;
    uint8_t *low;                 /* host view of GPA 0 .. LOW_SIZE */
    uint8_t *data;                /* host view of the data slot at DATA_GPA */
    size_t data_size;
    int cpl;
    struct kvm_stats *stats;
    int eventfd;
};

static int cpl_for_host(void)
{
    /* Hardware virtualization runs CPL0 guest code natively; software hypervisors (kvm_pvm) only CPL3. */
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[4096];
    int hw = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "flags", 5) && (strstr(line, " vmx") || strstr(line, " svm"))) {
            hw = 1;
            break;
        }
    if (f)
        fclose(f);
    return hw ? 0 : 3;
}


static void *map_backing(size_t size, enum backing b)
{
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    if (b == BACK_HUGETLB)
        flags |= MAP_HUGETLB | (21 << MAP_HUGE_SHIFT);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    madvise(p, size, b == BACK_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    return p;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, int code, int dpl)
{
    memset(s, 0, sizeof *s);
    s->selector = sel;
    s->limit = 0xffffffff;
    s->type = type;
    s->present = 1;
    s->dpl = dpl;
    s->s = 1;
    s->l = code;
    s->db = !code;
    s->g = 1;
}

/* Identity page tables: GPA 0..1 GiB as 2 MiB pages; the data slot as 2 MiB or 4 KiB pages. */
static void build_page_tables(struct vm *v, int data_2m)
{
    uint64_t *pml4 = (uint64_t *)(v->low + PML4), *pdpt = (uint64_t *)(v->low + PDPT);
    uint64_t flags = PTE_P | PTE_RW | PTE_US;
    memset(v->low + PML4, 0, 0x8000);
    pml4[0] = PDPT | flags;
    pdpt[0] = PD_LOW | flags;
    uint64_t *pd = (uint64_t *)(v->low + PD_LOW);
    for (int i = 0; i < 512; i++)
        pd[i] = ((uint64_t)i << 21) | flags | PTE_PS;
    size_t pages2m = (v->data_size + 2 * MIB - 1) / (2 * MIB);
    for (size_t g = 0; g * 512 < pages2m && g < 4; g++)
        pdpt[4 + g] = (PD_DATA + g * 0x1000) | flags;
    for (size_t i = 0; i < pages2m; i++) {
        uint64_t *pde = (uint64_t *)(v->low + PD_DATA) + i;
        uint64_t gpa = DATA_GPA + i * 2 * MIB;
        if (data_2m) {
            *pde = gpa | flags | PTE_PS;
        } else {
            uint64_t pt = PT_AREA + i * 0x1000;
            uint64_t *pte = (uint64_t *)(v->low + pt);
            for (int j = 0; j < 512; j++)
                pte[j] = (gpa + (uint64_t)j * 4096) | flags;
            *pde = pt | flags;
        }
    }
}

static int vm_create(struct vm *v, size_t data_size, enum backing b, int data_2m, char *err, size_t errlen)
{
    memset(v, 0, sizeof *v);
    v->eventfd = -1;
    v->kvm = open(kvm_device(), O_RDWR | O_CLOEXEC);
    if (v->kvm < 0)
        return snprintf(err, errlen, "open /dev/kvm: %s", strerror(errno)), -1;
    v->fd = ioctl(v->kvm, KVM_CREATE_VM, 0);
    if (v->fd < 0)
        return snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(errno)), -1;
    v->low = map_backing(LOW_SIZE, BACK_4K);
    if (!v->low)
        return snprintf(err, errlen, "mmap of guest low memory failed"), -1;
    struct kvm_userspace_memory_region low = {.slot = 0, .guest_phys_addr = 0, .memory_size = LOW_SIZE, .userspace_addr = (uintptr_t)v->low};
    if (ioctl(v->fd, KVM_SET_USER_MEMORY_REGION, &low) < 0)
        return snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION (low): %s", strerror(errno)), -1;
    if (data_size) {
        v->data_size = data_size;
        v->data = map_backing(data_size, b);
        if (!v->data)
            return snprintf(err, errlen, "mmap of %zu MiB %s-backed guest memory failed: %s", data_size >> 20,
                            b == BACK_HUGETLB ? "hugetlb" : b == BACK_THP ? "THP" : "4 KiB", strerror(errno)), -1;
        struct kvm_userspace_memory_region d = {.slot = 1, .guest_phys_addr = DATA_GPA, .memory_size = data_size, .userspace_addr = (uintptr_t)v->data};
        if (ioctl(v->fd, KVM_SET_USER_MEMORY_REGION, &d) < 0)
            return snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION (data): %s", strerror(errno)), -1;
    }
    memcpy(v->low + CODE, guest_begin, guest_end - guest_begin);
    build_page_tables(v, data_2m);

    v->vcpu = ioctl(v->fd, KVM_CREATE_VCPU, 0);
    if (v->vcpu < 0)
        return snprintf(err, errlen, "KVM_CREATE_VCPU: %s", strerror(errno)), -1;
    int run_size = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    v->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
    if (v->run == MAP_FAILED)
        return snprintf(err, errlen, "mmap kvm_run: %s", strerror(errno)), -1;

    struct kvm_sregs sr;
    if (ioctl(v->vcpu, KVM_GET_SREGS, &sr) < 0)
        return snprintf(err, errlen, "KVM_GET_SREGS: %s", strerror(errno)), -1;
    v->cpl = cpl_for_host();
    int dpl = v->cpl;
    seg(&sr.cs, dpl ? 0x33 : 0x08, 11, 1, dpl);
    seg(&sr.ss, dpl ? 0x2b : 0x10, 3, 0, dpl);
    sr.ds = sr.es = sr.fs = sr.gs = sr.ss;
    /* A 64-bit TSS whose I/O permission bitmap allows every port: with IOPL below the CPL, port I/O is checked
     * against it (a software hypervisor may keep the real IOPL at 0). */
    memset(v->low + TSS, 0, TSS_SIZE);
    *(uint16_t *)(v->low + TSS + 0x66) = 0x68;
    v->low[TSS + TSS_SIZE - 1] = 0xff;
    memset(&sr.tr, 0, sizeof sr.tr);
    sr.tr.base = TSS;
    sr.tr.selector = 0x18;
    sr.tr.limit = TSS_SIZE - 1;
    sr.tr.type = 11;
    sr.tr.present = 1;
    sr.ldt.unusable = 1;
    sr.ldt.type = 2;
    sr.ldt.present = 0;
    sr.cr0 = 0x80010033;          /* PG WP NE ET MP PE */
    sr.cr3 = PML4;
    sr.cr4 = 0x620;               /* OSXMMEXCPT OSFXSR PAE; TSD clear so rdtsc works at CPL3 */
    sr.efer = 0x500;              /* LMA LME */
    if (ioctl(v->vcpu, KVM_SET_SREGS, &sr) < 0)
        return snprintf(err, errlen, "KVM_SET_SREGS: %s", strerror(errno)), -1;
    v->stats = kvm_stats_open(v->vcpu);
    return 0;
}

static void vm_destroy(struct vm *v)
{
    kvm_stats_close(v->stats);
    if (v->eventfd >= 0)
        close(v->eventfd);
    if (v->vcpu > 0)
        close(v->vcpu);
    if (v->fd > 0)
        close(v->fd);
    if (v->kvm > 0)
        close(v->kvm);
    if (v->low)
        munmap(v->low, LOW_SIZE);
    if (v->data)
        munmap(v->data, v->data_size);
}

/* Enters the guest at `prog` with the given registers and runs until the done port; counts exits on the way.
 * on_bench_exit, if set, is called for each BENCH_PORT exit (the batching case's host work). */
static int vm_call(struct vm *v, const char *prog, uint64_t rdi, uint64_t rcx, uint64_t rsi, uint64_t r9, uint64_t r10,
                   void (*on_bench_exit)(struct vm *, void *), void *ctx, uint64_t *user_exits, char *err, size_t errlen)
{
    struct kvm_regs r = {0};
    r.rip = CODE + (prog - guest_begin);
    r.rsp = STACK_TOP;
    r.rflags = 0x2 | (3 << 12);   /* IOPL 3: port I/O at CPL3 exits to the VMM instead of faulting */
    r.rdi = rdi;
    r.rcx = rcx;
    r.rsi = rsi;
    r.r9 = r9;
    r.r10 = r10;
    if (ioctl(v->vcpu, KVM_SET_REGS, &r) < 0)
        return snprintf(err, errlen, "KVM_SET_REGS: %s", strerror(errno)), -1;
    uint64_t exits = 0;
    for (;;) {
        if (ioctl(v->vcpu, KVM_RUN, 0) < 0 && errno != EINTR)
            return snprintf(err, errlen, "KVM_RUN: %s", strerror(errno)), -1;
        struct kvm_run *k = v->run;
        switch (k->exit_reason) {
        case KVM_EXIT_IO:
            if (k->io.port == DONE_PORT) {
                if (user_exits)
                    *user_exits = exits;
                return 0;
            }
            exits++;
            if (k->io.port == BENCH_PORT && on_bench_exit)
                on_bench_exit(v, ctx);
            continue;
        case KVM_EXIT_MMIO:
        case KVM_EXIT_HLT:
            exits++;
            continue;
        case KVM_EXIT_INTR:
            continue;
        default: {
            struct kvm_regs now;
            ioctl(v->vcpu, KVM_GET_REGS, &now);
            return snprintf(err, errlen, "guest stopped with exit reason %u at rip 0x%llx rflags 0x%llx (cpl %d)", k->exit_reason,
                            (unsigned long long)now.rip, (unsigned long long)now.rflags, v->cpl), -1;
        }
        }
    }
}

static uint64_t stat_or(struct vm *v, const char *name)
{
    uint64_t x = 0;
    return kvm_stats_read(v->stats, name, &x) == 0 ? x : UINT64_MAX;
}

/* ---- exit round trips ------------------------------------------------------------------------------- */

struct exit_ctx {
    struct vm *v;
    const char *prog;
    uint64_t r9, rsi;
    char *err;
    size_t errlen;
};

static double exit_batch_seconds(uint64_t iters, void *p)
{
    struct exit_ctx *c = p;
    uint64_t t0 = ticks_now();
    if (vm_call(c->v, c->prog, RESULTS, iters > RESULTS_MAX ? RESULTS_MAX : iters, c->rsi, c->r9, 0, NULL, NULL, NULL, c->err, c->errlen) < 0)
        return 1e9;
    return (ticks_now() - t0) / tick_hz();
}

/* a: 0 = port I/O to userspace, 1 = MMIO to userspace, 2 = port I/O completed in the kernel (ioeventfd),
 *    3 = MMIO completed in the kernel (ioeventfd), 4 = hlt to userspace (CPL0 only) */
static int run_exit(const struct bench_case *bc, const struct options *o, struct result *res, char *err, size_t errlen)
{
    struct vm v;
    if (vm_create(&v, 0, BACK_4K, 1, err, errlen) < 0) {
        vm_destroy(&v);
        return -1;
    }
    int kind = (int)bc->variant;
    struct exit_ctx c = {&v, kind == 4 ? g_hlt : kind == 1 || kind == 3 ? g_mmio : g_pio, kind == 2 ? EVENT_PORT : BENCH_PORT, MMIO_GPA, err, errlen};
    if (kind >= 2) {
        v.eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        struct kvm_ioeventfd io = {.addr = kind == 2 ? EVENT_PORT : MMIO_GPA, .len = 1, .fd = v.eventfd,
                                   .flags = kind == 2 ? KVM_IOEVENTFD_FLAG_PIO : 0};
        if (ioctl(v.fd, KVM_IOEVENTFD, &io) < 0) {
            snprintf(err, errlen, "KVM_IOEVENTFD: %s", strerror(errno));
            vm_destroy(&v);
            return -1;
        }
    }
    /* Warm up (first entries fault in code and page tables), then find the iteration count. */
    if (exit_batch_seconds(1000, &c) >= 1e9) {
        vm_destroy(&v);
        return -1;
    }
    uint64_t n = grow_iterations(o, exit_batch_seconds, &c);
    if (n > RESULTS_MAX)
        n = RESULTS_MAX;
    /* The empty loop, same program shape, measured and subtracted. */
    struct exit_ctx e = c;
    e.prog = g_empty;
    exit_batch_seconds(n, &e);
    const uint64_t *ticks = (const uint64_t *)(v.low + RESULTS);
    double empty = ticks_median(ticks, n);

    uint64_t exits0 = stat_or(&v, "exits"), io0 = stat_or(&v, "io_exits"), mmio0 = stat_or(&v, "mmio_exits"), user = 0;
    if (vm_call(&v, c.prog, RESULTS, n, c.rsi, c.r9, 0, NULL, NULL, &user, err, errlen) < 0) {
        vm_destroy(&v);
        return -1;
    }
    uint64_t exits1 = stat_or(&v, "exits"), io1 = stat_or(&v, "io_exits"), mmio1 = stat_or(&v, "mmio_exits");
    result_ticks(res, ticks, n, empty);
    extra_add(res, ",\"guest_cpl\":%d,\"exits_to_userspace\":%llu", v.cpl, (unsigned long long)user);
    if (exits0 != UINT64_MAX)
        extra_add(res, ",\"kvm_exits\":%llu", (unsigned long long)(exits1 - exits0));
    if (io0 != UINT64_MAX)
        extra_add(res, ",\"kvm_io_exits\":%llu", (unsigned long long)(io1 - io0));
    if (mmio0 != UINT64_MAX)
        extra_add(res, ",\"kvm_mmio_exits\":%llu", (unsigned long long)(mmio1 - mmio0));
    vm_destroy(&v);
    return 0;
}

/* ---- stage-2 / shadow faults ------------------------------------------------------------------------ */

static const char *fault_check(const struct bench_case *c)
{
    const char *k = kvm_check(c);
    if (k)
        return k;
    if (c->backing == BACK_HUGETLB) {
        FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "r");
        long free_pages = 0;
        if (!f || fscanf(f, "%ld", &free_pages) != 1)
            free_pages = 0;
        if (f)
            fclose(f);
        if ((uint64_t)free_pages * 2 * MIB < (uint64_t)c->mib * MIB)
            return "not enough free 2 MiB hugetlb pages (echo N > /proc/sys/vm/nr_hugepages)";
    }
    return NULL;
}

/* a: guest mapping (0 = 4 KiB, 1 = 2 MiB); b: host backing; c: region MiB. Touches every 4 KiB page twice:
 * the first pass (cold) takes the faults, the second (warm) shows the cost without them. */
static int run_fault(const struct bench_case *bc, const struct options *o, struct result *res, char *err, size_t errlen)
{
    (void)o;
    struct vm v;
    size_t size = (size_t)bc->mib * MIB;
    if (vm_create(&v, size, (enum backing)bc->backing, (int)bc->variant, err, errlen) < 0) {
        vm_destroy(&v);
        return -1;
    }
    uint64_t pages = size / 4096;
    if (pages > RESULTS_MAX)
        pages = RESULTS_MAX;
    /* Warm the code path with one touch outside the measured region (the low slot). */
    if (vm_call(&v, g_touch, RESULTS, 1, RESULTS, 4096, 0, NULL, NULL, NULL, err, errlen) < 0) {
        vm_destroy(&v);
        return -1;
    }
    uint64_t pf0 = stat_or(&v, "pf_fixed"), ex0 = stat_or(&v, "exits");
    uint64_t t0 = ticks_now();
    if (vm_call(&v, g_touch, RESULTS, pages, DATA_GPA, 4096, 0, NULL, NULL, NULL, err, errlen) < 0) {
        vm_destroy(&v);
        return -1;
    }
    uint64_t cold_total = ticks_now() - t0;
    uint64_t pf1 = stat_or(&v, "pf_fixed"), ex1 = stat_or(&v, "exits");
    result_alloc(res, pages);
    for (uint64_t i = 0; i < pages; i++)
        res->samples[i] = (double)((uint64_t *)(v.low + RESULTS))[i];
    t0 = ticks_now();
    vm_call(&v, g_touch, RESULTS, pages, DATA_GPA, 4096, 0, NULL, NULL, NULL, err, errlen);
    uint64_t warm_total = ticks_now() - t0;
    double *warm = malloc(pages * sizeof *warm);
    for (uint64_t i = 0; i < pages; i++)
        warm[i] = (double)((uint64_t *)(v.low + RESULTS))[i];
    res->unit = "ticks";
    res->iterations = pages;
    uint64_t faults = pf0 == UINT64_MAX ? 0 : pf1 - pf0;
    extra_add(res, ",\"guest_cpl\":%d,\"region_mib\":%ld,\"pages_touched\":%llu,\"faults\":%llu,\"exits\":%llu,"
                   "\"cold_total_ticks\":%llu,\"warm_total_ticks\":%llu,\"warm_median_ticks\":%.1f,"
                   "\"cold_ticks_per_fault\":%.1f,\"cold_ticks_per_mib\":%.1f",
              v.cpl, bc->mib, (unsigned long long)pages, (unsigned long long)faults, (unsigned long long)(ex1 - ex0),
              (unsigned long long)cold_total, (unsigned long long)warm_total, median_of(warm, pages),
              faults ? (double)(cold_total - warm_total) / faults : 0.0, (double)cold_total / bc->mib);
    free(warm);
    vm_destroy(&v);
    return 0;
}

/* ---- TLB reach: dependent pointer chase inside the guest -------------------------------------------- */

/* a: guest mapping (0 = 4 KiB, 1 = 2 MiB); b: host backing; c: buffer MiB. One node per 64-byte line,
 * visited in a random order that is one single cycle, so every load depends on the one before. */
static int run_chase(const struct bench_case *bc, const struct options *o, struct result *res, char *err, size_t errlen)
{
    struct vm v;
    size_t size = (size_t)bc->mib * MIB;
    if (vm_create(&v, size, (enum backing)bc->backing, (int)bc->variant, err, errlen) < 0) {
        vm_destroy(&v);
        return -1;
    }
    size_t lines = size / 64;
    chase_build(v.data, DATA_GPA, size);
    uint64_t steps = lines < 4000000 ? 4000000 : lines;
    /* Warm: one full lap so every page is mapped at both stages before measuring. */
    if (vm_call(&v, g_chase, RESULTS, lines, DATA_GPA, 0, 0, NULL, NULL, NULL, err, errlen) < 0) {
        vm_destroy(&v);
        return -1;
    }
    int reps = o->repeat > 0 ? o->repeat : 5;
    result_alloc(res, reps);
    for (int r = 0; r < reps; r++) {
        if (vm_call(&v, g_chase, RESULTS, steps, DATA_GPA, 0, 0, NULL, NULL, NULL, err, errlen) < 0) {
            vm_destroy(&v);
            return -1;
        }
        res->samples[r] = (double)*(uint64_t *)(v.low + RESULTS) / steps;
    }
    res->unit = "ticks";
    res->iterations = steps;
    extra_add(res, ",\"guest_cpl\":%d,\"buffer_mib\":%ld,\"steps_per_sample\":%llu", v.cpl, bc->mib, (unsigned long long)steps);
    vm_destroy(&v);
    return 0;
}

/* ---- RSI-batching analogue ------------------------------------------------------------------------ */

struct batch_ctx {
    uint8_t *sink;
    size_t chunk;
    uint8_t *shared;
};

static void batch_exit(struct vm *v, void *p)
{
    (void)v;
    struct batch_ctx *c = p;
    memcpy(c->sink, c->shared, c->chunk); /* the host consumes what crossed: one copy per host call */
}

/* a: chunk bytes; c: total MiB moved. The data slot holds the source then the shared buffer. */
static int run_batch(const struct bench_case *bc, const struct options *o, struct result *res, char *err, size_t errlen)
{
    struct vm v;
    size_t total = (size_t)bc->mib * MIB, chunk = (size_t)bc->variant;
    if (vm_create(&v, total + chunk, BACK_THP, 1, err, errlen) < 0) {
        vm_destroy(&v);
        return -1;
    }
    memset(v.data, 0x5a, total + chunk); /* pre-fault: this case measures the crossings, not the faults */
    struct batch_ctx c = {malloc(chunk), chunk, v.data + total};
    memset(c.sink, 0, chunk);
    uint64_t chunks = total / chunk;
    int reps = o->repeat > 0 ? o->repeat : 5;
    result_alloc(res, reps);
    uint64_t exits = 0;
    for (int r = 0; r < reps + 1; r++) {
        uint64_t t0 = ticks_now();
        if (vm_call(&v, g_batch, DATA_GPA + total, chunks, DATA_GPA, BENCH_PORT, chunk, batch_exit, &c, &exits, err, errlen) < 0) {
            free(c.sink);
            vm_destroy(&v);
            return -1;
        }
        if (r > 0) /* the first lap warms the caches and the shared buffer */
            res->samples[r - 1] = (double)total / ((ticks_now() - t0) / tick_hz());
    }
    res->unit = "bytes_per_s";
    res->iterations = chunks;
    extra_add(res, ",\"guest_cpl\":%d,\"chunk_bytes\":%zu,\"total_bytes\":%zu,\"exits_per_pass\":%llu", v.cpl, chunk, total,
              (unsigned long long)exits);
    free(c.sink);
    vm_destroy(&v);
    return 0;
}

static const char *hlt_check(const struct bench_case *c)
{
    const char *k = kvm_check(c);
    if (k)
        return k;
    return cpl_for_host() ? "hlt and hypercalls are privileged: this host runs guest code natively only at CPL3 (no vmx/svm)" : NULL;
}

#define FAULT(name, g, b, mib) {name, "guest first touch of every 4 KiB page: faults, cost per fault and per MiB, cold and warm", fault_check, run_fault, g, b, mib, 0}
#define CHASE(name, g, b, mib) {name, "dependent pointer chase in the guest: ticks per access", kvm_check, run_chase, g, b, mib, 0}
#define BATCH(name, chunk) {name, "move 256 MiB to the host through one exit per chunk: bytes/s", kvm_check, run_batch, chunk, 0, 256, 0}

const struct bench_case vm_cases[] = {
    {"kvm.exit.pio", "port write, exit to the VMM's userspace and back", kvm_check, run_exit, 0, 0, 0, 0},
    {"kvm.exit.mmio", "store to unbacked memory, exit to the VMM's userspace and back", kvm_check, run_exit, 1, 0, 0, 0},
    {"kvm.exit.pio-kernel", "port write completed inside KVM (ioeventfd), no userspace", kvm_check, run_exit, 2, 0, 0, 0},
    {"kvm.exit.mmio-kernel", "MMIO store completed inside KVM (ioeventfd), no userspace", kvm_check, run_exit, 3, 0, 0, 0},
    {"kvm.exit.hlt", "hlt to the VMM and back", hlt_check, run_exit, 4, 0, 0, 0},
    FAULT("kvm.fault.h4k-g4k", 0, BACK_4K, 64),
    FAULT("kvm.fault.h4k-g2m", 1, BACK_4K, 64),
    FAULT("kvm.fault.thp-g4k", 0, BACK_THP, 64),
    FAULT("kvm.fault.hugetlb-g4k", 0, BACK_HUGETLB, 64),
    FAULT("kvm.fault.thp-g2m", 1, BACK_THP, 64),
    FAULT("kvm.fault.hugetlb-g2m", 1, BACK_HUGETLB, 64),
    CHASE("kvm.chase.h4k-g4k.1m", 0, BACK_4K, 1), CHASE("kvm.chase.thp-g2m.2m", 1, BACK_THP, 2),
    CHASE("kvm.chase.h4k-g4k.16m", 0, BACK_4K, 16), CHASE("kvm.chase.thp-g2m.16m", 1, BACK_THP, 16),
    CHASE("kvm.chase.h4k-g4k.256m", 0, BACK_4K, 256), CHASE("kvm.chase.thp-g2m.256m", 1, BACK_THP, 256),
    CHASE("kvm.chase.h4k-g4k.1g", 0, BACK_4K, 1024), CHASE("kvm.chase.thp-g2m.1g", 1, BACK_THP, 1024),
    BATCH("kvm.batch.4k", 4096), BATCH("kvm.batch.16k", 16384), BATCH("kvm.batch.64k", 65536),
    BATCH("kvm.batch.256k", 262144), BATCH("kvm.batch.1m", 1 << 20), BATCH("kvm.batch.4m", 4 << 20),
    BATCH("kvm.batch.16m", 16 << 20), BATCH("kvm.batch.64m", 64 << 20), BATCH("kvm.batch.256m", 256 << 20),
    {"kvm.batch.1g", "move 1 GiB to the host in one exit: bytes/s", kvm_check, run_batch, 1L << 30, 0, 1024, 0},
};
const size_t vm_case_count = sizeof vm_cases / sizeof vm_cases[0];
