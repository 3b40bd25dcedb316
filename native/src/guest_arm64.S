/* Guest programs for the arm64 VMM. They run at EL1 with the MMU off (addresses are IPAs). Registers on
 * entry: x1 = address to store to (MMIO, or the first page to touch), x2 = results buffer, x3 = iterations,
 * x4 = done address, x5 = the touch program's stride.
 * The virtual counter (cntvct_el0) times each operation. */
/* x3 iterations of: time the given instructions, store their ticks at x2 and advance; then the done store.
 * The loop's state lives in x19-x21: an hvc returns its results in x0-x3 (KVM writes all four, SMCCC), and with the
 * results pointer in x2 zeroed the next store faulted outside guest RAM, which KVM_RUN reported as ENOSYS. */
.macro TIMED_LOOP op:vararg
    mov x19, x2
    mov x20, x3
    mov x21, x4
1:  isb
    mrs x8, cntvct_el0
    \op
    isb
    mrs x9, cntvct_el0
    sub x9, x9, x8
    str x9, [x19], #8
    subs x20, x20, #1
    b.ne 1b
    str w0, [x21]
2:  b 2b
.endm

    .text
    .globl guest_begin, guest_end, g_mmio, g_hvc, g_empty, g_touch
guest_begin:

/* One store to unbacked memory per iteration: an MMIO exit to the VMM's userspace. */
g_mmio:
    TIMED_LOOP str w0, [x1]

/* PSCI_VERSION; hvc returns its answer in x0, so the function id goes back in each time. */
.macro PSCI_VERSION_CALL
    movz w0, #0x8400, lsl #16
    hvc #0
.endm

/* One hypervisor call per iteration: PSCI_VERSION, answered inside KVM. */
g_hvc:
    TIMED_LOOP PSCI_VERSION_CALL

/* One store per iteration to the next page (x1 += x5): the first touch of each is a stage-2 fault. x1 is not an SMCCC
 * result register's concern here (no hvc), so it may advance in place. The two instructions are a macro of their own:
 * GAS splits a line at ';' before it collects a macro's arguments, so "str ...; add ..." passed inline left the add
 * after the loop, and every iteration stored to the first page (the VMM's stores_landed count found it). */
.macro TOUCH_NEXT_PAGE
    str w0, [x1]
    add x1, x1, x5
.endm
g_touch:
    TIMED_LOOP TOUCH_NEXT_PAGE

/* The same loop with nothing in it. */
g_empty:
    TIMED_LOOP nop

guest_end:
    .section .note.GNU-stack,"",@progbits
