/* Guest programs for the arm64 VMM. They run at EL1 with the MMU off (addresses are IPAs). Registers on
 * entry: x1 = address to store to (MMIO) , x2 = results buffer, x3 = iterations, x4 = done address.
 * The virtual counter (cntvct_el0) times each operation. */
    .text
    .globl guest_begin, guest_end, g_mmio, g_hvc, g_empty
guest_begin:

/* One store to unbacked memory per iteration: an MMIO exit to the VMM's userspace. */
g_mmio:
1:  isb
    mrs x8, cntvct_el0
    str w0, [x1]
    isb
    mrs x9, cntvct_el0
    sub x9, x9, x8
    str x9, [x2], #8
    subs x3, x3, #1
    b.ne 1b
    str w0, [x4]
2:  b 2b

/* One hypervisor call per iteration: PSCI_VERSION, answered inside KVM. */
g_hvc:
1:  isb
    mrs x8, cntvct_el0
    movz w0, #0x8400, lsl #16
    hvc #0
    isb
    mrs x9, cntvct_el0
    sub x9, x9, x8
    str x9, [x2], #8
    subs x3, x3, #1
    b.ne 1b
    str w0, [x4]
2:  b 2b

/* The same loop with nothing in it. */
g_empty:
1:  isb
    mrs x8, cntvct_el0
    nop
    isb
    mrs x9, cntvct_el0
    sub x9, x9, x8
    str x9, [x2], #8
    subs x3, x3, #1
    b.ne 1b
    str w0, [x4]
2:  b 2b

guest_end:
    .section .note.GNU-stack,"",@progbits
