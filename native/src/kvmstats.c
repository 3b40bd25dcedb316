/* KVM's binary statistics (KVM_GET_STATS_FD): names and values of a VM's or vCPU's counters. */
#include "wsbench.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct kvm_stats {
    int fd;
    struct kvm_stats_header h;
    char *desc;                 /* num_desc descriptors of (sizeof desc + name_size) bytes each */
    size_t desc_size;
};

struct kvm_stats *kvm_stats_open(int fd)
{
    int sfd = ioctl(fd, KVM_GET_STATS_FD, NULL);
    if (sfd < 0)
        return NULL;
    struct kvm_stats *s = calloc(1, sizeof *s);
    s->fd = sfd;
    if (pread(sfd, &s->h, sizeof s->h, 0) != sizeof s->h)
        goto fail;
    s->desc_size = sizeof(struct kvm_stats_desc) + s->h.name_size;
    s->desc = malloc(s->desc_size * s->h.num_desc);
    if (pread(sfd, s->desc, s->desc_size * s->h.num_desc, s->h.desc_offset) != (ssize_t)(s->desc_size * s->h.num_desc))
        goto fail;
    return s;
fail:
    kvm_stats_close(s);
    return NULL;
}

int kvm_stats_read(struct kvm_stats *s, const char *name, uint64_t *value)
{
    for (uint32_t i = 0; s && i < s->h.num_desc; i++) {
        struct kvm_stats_desc *d = (void *)(s->desc + i * s->desc_size);
        if (strcmp(d->name, name) != 0)
            continue;
        return pread(s->fd, value, sizeof *value, s->h.data_offset + d->offset) == sizeof *value ? 0 : -1;
    }
    return -1;
}

void kvm_stats_close(struct kvm_stats *s)
{
    if (!s)
        return;
    close(s->fd);
    free(s->desc);
    free(s);
}

/* WSBENCH_KVM_DEVICE overrides /dev/kvm: tests use it to see a host without KVM. */
const char *kvm_device(void)
{
    const char *d = getenv("WSBENCH_KVM_DEVICE");
    return d && *d ? d : "/dev/kvm";
}

const char *kvm_check(const struct bench_case *c)
{
    (void)c;
    int fd = open(kvm_device(), O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? "no /dev/kvm on this host" : "cannot open /dev/kvm (permission?)";
    close(fd);
    return NULL;
}

void random_cycle(uint32_t *order, size_t n)
{
    for (size_t i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    for (size_t i = n - 1; i > 0; i--) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        size_t j = s % (i + 1);
        uint32_t t = order[i]; order[i] = order[j]; order[j] = t;
    }
}

void chase_build(uint8_t *mem, uint64_t address_of_mem, size_t size)
{
    size_t lines = size / 64;
    uint32_t *order = malloc(lines * sizeof *order);
    random_cycle(order, lines);
    for (size_t i = 0; i < lines; i++)
        *(uint64_t *)(mem + (size_t)order[i] * 64) = address_of_mem + (uint64_t)order[(i + 1) % lines] * 64;
    free(order);
}
