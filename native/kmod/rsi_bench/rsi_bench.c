// SPDX-License-Identifier: GPL-2.0
/*
 * rsi_bench: times the Realm Services Interface from inside an Arm CCA Realm.
 *
 * Each sample is one RSI_VERSION call (SMC function id 0xC4000190) timed with the virtual counter
 * (CNTVCT_EL0). Loaded with samples=N, it takes N samples at load time and on every write to the control
 * file, and exposes them through debugfs:
 *   /sys/kernel/debug/rsi_bench/samples   one tick count per line (raw counter ticks)
 *   /sys/kernel/debug/rsi_bench/freq      the counter frequency in Hz (CNTFRQ_EL0)
 *   /sys/kernel/debug/rsi_bench/run       write anything to take a new set of samples
 * Outside a Realm the SMC is not answered by an RMM: the module refuses to load unless force=1.
 */
#include <linux/arm-smccc.h>
#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <asm/sysreg.h>

#define RSI_VERSION_FID 0xC4000190

static unsigned int samples = 10000;
module_param(samples, uint, 0444);
MODULE_PARM_DESC(samples, "RSI_VERSION calls timed per run");
static bool force;
module_param(force, bool, 0444);
MODULE_PARM_DESC(force, "load even if the first RSI_VERSION call does not look answered");

static u64 *ticks;
static unsigned int taken;
static struct dentry *dir;
static DEFINE_MUTEX(lock);

static inline u64 counter(void)
{
	isb();
	return read_sysreg(cntvct_el0);
}

static void take_samples(void)
{
	struct arm_smccc_res res;
	unsigned int i;

	mutex_lock(&lock);
	for (i = 0; i < samples; i++) {
		u64 t0 = counter();

		arm_smccc_smc(RSI_VERSION_FID, 0x10000, 0, 0, 0, 0, 0, 0, &res);
		ticks[i] = counter() - t0;
	}
	taken = samples;
	mutex_unlock(&lock);
}

static int samples_show(struct seq_file *m, void *v)
{
	unsigned int i;

	mutex_lock(&lock);
	for (i = 0; i < taken; i++)
		seq_printf(m, "%llu\n", ticks[i]);
	mutex_unlock(&lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(samples);

static int freq_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%llu\n", read_sysreg(cntfrq_el0));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(freq);

static ssize_t run_write(struct file *f, const char __user *buf, size_t len, loff_t *off)
{
	take_samples();
	return len;
}

static const struct file_operations run_fops = {
	.owner = THIS_MODULE,
	.write = run_write,
};

static int __init rsi_bench_init(void)
{
	struct arm_smccc_res res;

	if (!samples || samples > 10000000)
		return -EINVAL;
	arm_smccc_smc(RSI_VERSION_FID, 0x10000, 0, 0, 0, 0, 0, 0, &res);
	/* SMCCC's NOT_SUPPORTED (-1) means no RMM answered: this is not a Realm. */
	if ((long)res.a0 == -1 && !force) {
		pr_info("rsi_bench: RSI_VERSION not answered; not a Realm (load with force=1 to time it anyway)\n");
		return -ENODEV;
	}
	ticks = kvmalloc_array(samples, sizeof(*ticks), GFP_KERNEL);
	if (!ticks)
		return -ENOMEM;
	take_samples();
	dir = debugfs_create_dir("rsi_bench", NULL);
	debugfs_create_file("samples", 0444, dir, NULL, &samples_fops);
	debugfs_create_file("freq", 0444, dir, NULL, &freq_fops);
	debugfs_create_file("run", 0200, dir, NULL, &run_fops);
	pr_info("rsi_bench: RSI version 0x%lx, %u samples taken\n", res.a1, samples);
	return 0;
}

static void __exit rsi_bench_exit(void)
{
	debugfs_remove_recursive(dir);
	kvfree(ticks);
}

module_init(rsi_bench_init);
module_exit(rsi_bench_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Times RSI_VERSION calls inside an Arm CCA Realm");
