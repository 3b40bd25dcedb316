/* The arm64 VMM: one VM, one vCPU at EL1 with the MMU off, MMIO and hypercall exits, stage-2 faults of first
 * touches (with the guest's MMU off every access is translated by stage 2 alone); and a Realm mode that
 * probes the host kernel for KVM Realm support (the capability is taken from the host's own kernel headers at
 * build time and checked at run time; its number has changed between patch series, so none is hard-coded). */
#include "wsbench.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define RAM_IPA 0x40000000ULL
#define RAM_SIZE (64ULL << 20)
#define CODE_OFF 0x1000ULL
#define RESULTS_OFF (1ULL << 20)
#define RESULTS_MAX ((RAM_SIZE - RESULTS_OFF) / 8)
#define MMIO_IPA 0x10000000ULL
#define DONE_IPA 0x10001000ULL
#define DATA_IPA 0x80000000ULL
#define STORED 0x5a5a5a5aU /* what the guest's stores write (w0): the VMM checks they landed */
#define MIB (1ULL << 20)
#define CORE_REG(x) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | (offsetof(struct kvm_regs, x) / sizeof(__u32)))

extern const char guest_begin[], guest_end[], g_mmio[], g_hvc[], g_empty[], g_touch[];

enum backing { BACK_4K, BACK_THP, BACK_HUGETLB };

struct vm {
    int kvm, fd, vcpu;
    struct kvm_run *run;
    uint8_t *ram;
    uint8_t *data;      /* the data slot's memory, 2 MiB aligned */
    uint8_t *data_map;  /* the mapping it lies in */
    size_t data_map_size;
    struct kvm_stats *stats;
};


static int set_reg(int vcpu, uint64_t id, uint64_t value)
{
    struct kvm_one_reg r = {.id = id, .addr = (uintptr_t)&value};
    return ioctl(vcpu, KVM_SET_ONE_REG, &r);
}

static void vm_destroy(struct vm *v)
{
    kvm_stats_close(v->stats);
    if (v->vcpu > 0) close(v->vcpu);
    if (v->fd > 0) close(v->fd);
    if (v->kvm > 0) close(v->kvm);
    if (v->ram) munmap(v->ram, RAM_SIZE);
    if (v->data_map) munmap(v->data_map, v->data_map_size);
}

/* A second memory slot at DATA_IPA on the host pages a fault case asks for: 4 KiB (THP refused), THP, or hugetlb. */
static int vm_add_data(struct vm *v, size_t size, enum backing b, char *err, size_t errlen)
{
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | (b == BACK_HUGETLB ? MAP_HUGETLB : 0);
    /* 2 MiB aligned, as QEMU aligns guest RAM: KVM maps a 2 MiB stage-2 block only where the host address and the IPA
     * agree modulo 2 MiB, and the kernel gives THPs only to aligned ranges (unaligned, the THP case faulted every
     * 4 KiB page, like the 4 KiB one). hugetlb mappings are aligned already. */
    size_t map_size = b == BACK_HUGETLB ? size : size + 2 * MIB;
    uint8_t *base = mmap(NULL, map_size, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (base == MAP_FAILED)
        return snprintf(err, errlen, "mmap %zu MiB of %s guest memory: %s", (size_t)(size / MIB),
                        b == BACK_HUGETLB ? "hugetlb" : b == BACK_THP ? "THP" : "4 KiB", strerror(errno)), -1;
    uint8_t *p = (uint8_t *)(((uintptr_t)base + 2 * MIB - 1) & ~(uintptr_t)(2 * MIB - 1));
    if (b != BACK_HUGETLB)
        madvise(p, size, b == BACK_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    v->data_map = base;
    v->data_map_size = map_size;
    v->data = p;
    struct kvm_userspace_memory_region m = {.slot = 1, .guest_phys_addr = DATA_IPA, .memory_size = size, .userspace_addr = (uintptr_t)p};
    if (ioctl(v->fd, KVM_SET_USER_MEMORY_REGION, &m) < 0)
        return snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION (data): %s", strerror(errno)), -1;
    return 0;
}

static int vm_create(struct vm *v, char *err, size_t errlen)
{
    memset(v, 0, sizeof *v);
    v->kvm = open(kvm_device(), O_RDWR | O_CLOEXEC);
    if (v->kvm < 0)
        return snprintf(err, errlen, "open /dev/kvm: %s", strerror(errno)), -1;
    v->fd = ioctl(v->kvm, KVM_CREATE_VM, 0);
    if (v->fd < 0)
        return snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(errno)), -1;
    v->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (v->ram == MAP_FAILED)
        return v->ram = NULL, snprintf(err, errlen, "mmap guest RAM failed"), -1;
    struct kvm_userspace_memory_region m = {.slot = 0, .guest_phys_addr = RAM_IPA, .memory_size = RAM_SIZE, .userspace_addr = (uintptr_t)v->ram};
    if (ioctl(v->fd, KVM_SET_USER_MEMORY_REGION, &m) < 0)
        return snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno)), -1;
    memcpy(v->ram + CODE_OFF, guest_begin, guest_end - guest_begin);
    v->vcpu = ioctl(v->fd, KVM_CREATE_VCPU, 0);
    if (v->vcpu < 0)
        return snprintf(err, errlen, "KVM_CREATE_VCPU: %s", strerror(errno)), -1;
    struct kvm_vcpu_init init;
    if (ioctl(v->fd, KVM_ARM_PREFERRED_TARGET, &init) < 0)
        return snprintf(err, errlen, "KVM_ARM_PREFERRED_TARGET: %s", strerror(errno)), -1;
    init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
    if (ioctl(v->vcpu, KVM_ARM_VCPU_INIT, &init) < 0)
        return snprintf(err, errlen, "KVM_ARM_VCPU_INIT: %s", strerror(errno)), -1;
    int size = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    v->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
    if (v->run == MAP_FAILED)
        return snprintf(err, errlen, "mmap kvm_run: %s", strerror(errno)), -1;
    v->stats = kvm_stats_open(v->vcpu);
    return 0;
}

/* x1 = the address the program stores to (MMIO_IPA, or the first page to touch), x5 = its stride. */
static int vm_call(struct vm *v, const char *prog, uint64_t x1, uint64_t iterations, uint64_t x5, uint64_t *user_exits, char *err, size_t errlen)
{
    if (set_reg(v->vcpu, CORE_REG(regs.pc), RAM_IPA + CODE_OFF + (prog - guest_begin)) < 0 ||
        set_reg(v->vcpu, CORE_REG(regs.pstate), 0x3c5) < 0 || /* EL1h, interrupts masked */
        set_reg(v->vcpu, CORE_REG(regs.regs[1]), x1) < 0 ||
        set_reg(v->vcpu, CORE_REG(regs.regs[5]), x5) < 0 ||
        set_reg(v->vcpu, CORE_REG(regs.regs[2]), RAM_IPA + RESULTS_OFF) < 0 ||
        set_reg(v->vcpu, CORE_REG(regs.regs[3]), iterations) < 0 ||
        set_reg(v->vcpu, CORE_REG(regs.regs[4]), DONE_IPA) < 0 ||
        set_reg(v->vcpu, CORE_REG(regs.regs[0]), STORED) < 0)
        return snprintf(err, errlen, "KVM_SET_ONE_REG: %s", strerror(errno)), -1;
    uint64_t exits = 0;
    for (;;) {
        if (ioctl(v->vcpu, KVM_RUN, 0) < 0 && errno != EINTR)
            return snprintf(err, errlen, "KVM_RUN: %s", strerror(errno)), -1;
        if (v->run->exit_reason == KVM_EXIT_MMIO) {
            if (v->run->mmio.phys_addr == DONE_IPA) {
                /* Let KVM complete the done store now: completing it advances PC, and left pending it would advance
                 * the next program's PC, skipping that program's first instruction (found in a nested arm64 VM,
                 * where the skipped instruction was the loop's set-up). immediate_exit completes it without entering
                 * the guest; KVM_RUN then returns EINTR. */
                v->run->immediate_exit = 1;
                ioctl(v->vcpu, KVM_RUN, 0);
                v->run->immediate_exit = 0;
                if (user_exits)
                    *user_exits = exits;
                return 0;
            }
            exits++;
            continue;
        }
        if (v->run->exit_reason == KVM_EXIT_INTR)
            continue;
        return snprintf(err, errlen, "guest stopped with exit reason %u", v->run->exit_reason), -1;
    }
}

/* a: 0 = MMIO to userspace, 1 = hypercall answered in KVM (PSCI_VERSION) */
static int run_exit(const struct bench_case *bc, const struct options *o, struct result *res, char *err, size_t errlen)
{
    struct vm v;
    if (vm_create(&v, err, errlen) < 0) {
        vm_destroy(&v);
        return -1;
    }
    const char *prog = bc->variant ? g_hvc : g_mmio;
    uint64_t n = o->min_iterations * 16;
    if (n > RESULTS_MAX)
        n = RESULTS_MAX;
    if (vm_call(&v, g_empty, MMIO_IPA, n, 0, NULL, err, errlen) < 0) {
        vm_destroy(&v);
        return -1;
    }
    const uint64_t *ticks = (const uint64_t *)(v.ram + RESULTS_OFF);
    double empty = ticks_median(ticks, n);
    uint64_t exits0 = 0, exits1 = 0, user = 0;
    kvm_stats_read(v.stats, "exits", &exits0);
    if (vm_call(&v, prog, MMIO_IPA, n, 0, &user, err, errlen) < 0) {
        vm_destroy(&v);
        return -1;
    }
    kvm_stats_read(v.stats, "exits", &exits1);
    result_ticks(res, ticks, n, empty);
    extra_add(res, ",\"exits_to_userspace\":%llu,\"kvm_exits\":%llu", (unsigned long long)user, (unsigned long long)(exits1 - exits0));
    vm_destroy(&v);
    return 0;
}

static const char *fault_check(const struct bench_case *c)
{
    const char *k = kvm_check(c);
    if (k)
        return k;
    if (c->backing == BACK_HUGETLB) {
        void *p = mmap(NULL, (size_t)c->mib * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
        if (p == MAP_FAILED)
            return "not enough free 2 MiB hugetlb pages (echo N > /proc/sys/vm/nr_hugepages)";
        munmap(p, (size_t)c->mib * MIB);
    }
    return NULL;
}

/* Resident pages of this process (statm's second field). */
static long resident_pages(void)
{
    long size = 0, resident = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &resident) != 2)
            resident = -1;
        fclose(f);
    }
    return resident;
}

/* b: host backing; c: region MiB. The guest stores once to every 4 KiB page of a fresh region: each first touch is a
 * stage-2 fault KVM resolves (mapping a 4 KiB page, or a 2 MiB block where the host page is one); then the same
 * stores again, warm. The cold-minus-warm difference per fault is what a first touch costs. */
static int run_fault(const struct bench_case *bc, const struct options *o, struct result *res, char *err, size_t errlen)
{
    (void)o;
    struct vm v;
    size_t size = (size_t)bc->mib * MIB;
    if (vm_create(&v, err, errlen) < 0 || vm_add_data(&v, size, (enum backing)bc->backing, err, errlen) < 0) {
        vm_destroy(&v);
        return -1;
    }
    uint64_t pages = size / 4096;
    if (pages > RESULTS_MAX)
        pages = RESULTS_MAX;
    /* Warm the code path with one touch of the results area (guest RAM, outside the measured region). */
    if (vm_call(&v, g_touch, RAM_IPA + RESULTS_OFF, 1, 4096, NULL, err, errlen) < 0) {
        vm_destroy(&v);
        return -1;
    }
    uint64_t ex0 = 0, ex1 = 0, ex2 = 0;
    kvm_stats_read(v.stats, "exits", &ex0);
    /* The host's own page faults for the region (KVM faults host pages in for the VMM process): how many host pages
     * the cold pass populated, beside how many stage-2 faults the guest took. */
    struct rusage ru0, ru1;
    long rss0 = resident_pages();
    getrusage(RUSAGE_SELF, &ru0);
    uint64_t t0 = ticks_now();
    if (vm_call(&v, g_touch, DATA_IPA, pages, 4096, NULL, err, errlen) < 0) {
        vm_destroy(&v);
        return -1;
    }
    uint64_t cold_total = ticks_now() - t0;
    getrusage(RUSAGE_SELF, &ru1);
    long rss1 = resident_pages();
    kvm_stats_read(v.stats, "exits", &ex1);
    uint64_t landed = 0;
    for (uint64_t i = 0; i < pages; i++)
        landed += *(volatile uint32_t *)(v.data + i * 4096) == STORED;
    const uint64_t *ticks = (const uint64_t *)(v.ram + RESULTS_OFF);
    result_alloc(res, pages);
    for (uint64_t i = 0; i < pages; i++)
        res->samples[i] = (double)ticks[i];
    t0 = ticks_now();
    if (vm_call(&v, g_touch, DATA_IPA, pages, 4096, NULL, err, errlen) < 0) {
        vm_destroy(&v);
        return -1;
    }
    uint64_t warm_total = ticks_now() - t0;
    kvm_stats_read(v.stats, "exits", &ex2);
    double *warm = malloc(pages * sizeof *warm);
    for (uint64_t i = 0; i < pages; i++)
        warm[i] = (double)ticks[i];
    res->unit = "ticks";
    res->iterations = pages;
    /* Every stage-2 fault is an exit to KVM; the warm pass's exits (timer, stray) are the floor. */
    uint64_t cold_exits = ex1 - ex0, warm_exits = ex2 - ex1;
    uint64_t faults = cold_exits > warm_exits ? cold_exits - warm_exits : 0;
    extra_add(res, ",\"guest_mmu\":\"off (stage 2 only)\",\"region_mib\":%ld,\"pages_touched\":%llu,\"faults\":%llu,\"exits\":%llu,"
                   "\"warm_exits\":%llu,\"cold_total_ticks\":%llu,\"warm_total_ticks\":%llu,\"warm_median_ticks\":%.1f,"
                   "\"cold_ticks_per_fault\":%.1f,\"cold_ticks_per_mib\":%.1f,\"host_minor_faults\":%ld,\"host_resident_kib_added\":%ld,\"stores_landed\":%llu",
              bc->mib, (unsigned long long)pages, (unsigned long long)faults, (unsigned long long)cold_exits,
              (unsigned long long)warm_exits, (unsigned long long)cold_total, (unsigned long long)warm_total, median_of(warm, pages),
              faults ? (double)(cold_total - warm_total) / faults : 0.0, (double)cold_total / bc->mib, ru1.ru_minflt - ru0.ru_minflt, (rss1 - rss0) * (long)(sysconf(_SC_PAGESIZE) / 1024), (unsigned long long)landed);
    free(warm);
    vm_destroy(&v);
    return 0;
}

static const char *realm_check(const struct bench_case *c)
{
    const char *k = kvm_check(c);
    if (k)
        return k;
#ifdef KVM_CAP_ARM_RME
    int fd = open(kvm_device(), O_RDWR | O_CLOEXEC);
    int has = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_RME);
    close(fd);
    return has > 0 ? NULL : "the kernel headers define KVM_CAP_ARM_RME but this kernel does not offer it";
#else
    return "this kernel's headers define no KVM_CAP_ARM_RME: no KVM Realm support to probe";
#endif
}

static int run_realm_probe(const struct bench_case *bc, const struct options *o, struct result *res, char *err, size_t errlen)
{
    (void)bc; (void)o;
#ifdef KVM_CAP_ARM_RME
    result_alloc(res, 0);
    res->unit = "ticks";
    extra_add(res, ",\"kvm_cap_arm_rme\":%d", KVM_CAP_ARM_RME);
    return 0;
#else
    (void)res;
    snprintf(err, errlen, "no Realm support");
    return -1;
#endif
}

const struct bench_case vm_cases[] = {
    {"kvm.exit.mmio", "store to unbacked memory, exit to the VMM's userspace and back", kvm_check, run_exit, 0, 0, 0, 0},
    {"kvm.exit.hvc", "hvc answered inside KVM (PSCI_VERSION)", kvm_check, run_exit, 1, 0, 0, 0},
#define FAULT(name, b, mib) {name, "guest first touch of every 4 KiB page (MMU off): stage-2 faults, cost per fault and per MiB, cold and warm", fault_check, run_fault, 0, b, mib, 0}
    FAULT("kvm.fault.h4k", BACK_4K, 64),
    FAULT("kvm.fault.thp", BACK_THP, 64),
    FAULT("kvm.fault.hugetlb", BACK_HUGETLB, 64),
    {"kvm.realm.probe", "KVM Realm support of this host (capability from the host's headers)", realm_check, run_realm_probe, 0, 0, 0, 0},
};
const size_t vm_case_count = sizeof vm_cases / sizeof vm_cases[0];
