/* KVM's binary statistics (KVM_GET_STATS_FD): names and values of a VM's or vCPU's counters. */
#include "wsbench.h"

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
