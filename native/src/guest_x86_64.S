/* Guest programs for the x86-64 VMM. They run in 64-bit mode, at CPL3 where only user-mode guest code runs
 * natively (software hypervisors such as kvm_pvm) or at CPL0 on hardware virtualization; nothing here needs
 * privilege. Registers on entry: rdi = results buffer, rcx = iterations, r9 = port / stride, rsi = address,
 * r10 = chunk bytes. Each program ends by writing to the done port. The host copies them into guest memory;
 * they use no absolute addresses of their own. */
#define DONE_PORT 0x500
#define TSC(reg)  lfence; rdtsc; shl $32, %rdx; or %rdx, %rax; mov %rax, reg

/* rcx iterations of: time one `op`, store its ticks at rdi and advance; then the done port. */
.macro TIMED_LOOP op:vararg
1:  TSC(%r8)
    \op
    TSC(%rax)
    sub %r8, %rax
    mov %rax, (%rdi)
    add $8, %rdi
    dec %rcx
    jnz 1b
    mov $DONE_PORT, %dx
    out %al, (%dx)
.endm

    .text
    .globl guest_begin, guest_end
    .globl g_pio, g_mmio, g_empty, g_touch, g_chase, g_batch, g_hlt
guest_begin:

/* One port write; rdtsc clobbered rdx, so the port goes back in each time. */
.macro PORT_WRITE
    mov %r9, %rdx
    out %al, (%dx)
.endm

/* One port write per iteration; its cost in TSC ticks is stored per iteration. */
g_pio:
    TIMED_LOOP PORT_WRITE

/* One store to an address with no memory behind it: an MMIO exit. */
g_mmio:
    TIMED_LOOP movb %al, (%rsi)

/* hlt: exits to the VMM (CPL0 guests only; privileged at CPL3). */
g_hlt:
    TIMED_LOOP hlt

/* The same loop with nothing in it: its cost is subtracted from the others. */
g_empty:
    TIMED_LOOP nop

/* Touch one byte every r9 bytes from rsi: the first touch of a page costs its faults. */
g_touch:
1:  TSC(%r8)
    movb $1, (%rsi)
    TSC(%rax)
    sub %r8, %rax
    mov %rax, (%rdi)
    add $8, %rdi
    add %r9, %rsi
    dec %rcx
    jnz 1b
    mov $DONE_PORT, %dx
    out %al, (%dx)

/* A dependent pointer chase of rcx steps from rsi; stores the total ticks once. */
g_chase:
    TSC(%r8)
1:  mov (%rsi), %rsi
    dec %rcx
    jnz 1b
    TSC(%rax)
    sub %r8, %rax
    mov %rax, (%rdi)
    mov $DONE_PORT, %dx
    out %al, (%dx)

/* RSI-batching analogue: copy r10 bytes from the source (rsi, advancing) into the shared buffer (rdi), then
 * one exit to the host per chunk; rcx chunks. */
g_batch:
    mov %rdi, %r11
1:  mov %rcx, %r12
    mov %r10, %rcx
    mov %r11, %rdi
    rep movsb
    mov %r12, %rcx
    mov %r9, %rdx
    out %al, (%dx)
    dec %rcx
    jnz 1b
    mov $DONE_PORT, %dx
    out %al, (%dx)

guest_end:
    .section .note.GNU-stack,"",@progbits
