/* Ring-0 stub of the telebox probe guest (Multiboot v1 entry, 32-bit).
 *
 * Ring-0 code is instruction-emulated on PVM hosts (~0.5 us/instruction) and
 * PVM runs only long-mode paging, so this stub switches to long mode with a
 * 64-bit kernel, identity-maps the low 4 GiB with 2 MiB pages and drops to
 * CPL3 in a 32-bit compatibility-mode code segment with IOPL=3: the C part
 * (probe.c, built with -m32) runs there at native speed and does all I/O
 * itself. Ring 0 keeps only what CPL3 cannot do: descriptor tables, paging,
 * the PIC and local APIC setup, interrupt and fault handlers, and a #GP
 * handler that completes IN/OUT (DX forms) and HLT for CPL3. PVM runs guest
 * user mode with the real IOPL 0 whatever the guest sets, and turns INT n
 * from user mode into #UD, so IN/OUT fault there and HLT is the only way to
 * wait for an interrupt; with IOPL=3 honoured (TCG, hardware KVM) IN/OUT run
 * directly and only HLT traps.
 * Tables are built at assembly time; only address-splitting fields are
 * patched at run time. */

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* page-aligned modules, memory info */

#define SEL_KCODE64 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE32 0x1b
#define SEL_UDATA 0x23
#define SEL_TSS 0x28
#define SEL_KCODE32 0x38

#define VEC_COUNT 48 /* 0-31 faults, 32-47 PIC IRQs */
#define COM1 0x3f8

        .section .multiboot, "a"
        .align 4
        .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

        .text
        .code32
        .globl _start
_start:
        cli
        cld
        movl $kstack_top, %esp
        movl %eax, boot_magic
        movl %ebx, boot_info

        /* 64-bit TSS descriptor: base bits 0-31 split over bytes 2-4, 7. */
        movl $tss, %eax
        movw %ax, gdt + SEL_TSS + 2
        shrl $16, %eax
        movb %al, gdt + SEL_TSS + 4
        movb %ah, gdt + SEL_TSS + 7

        /* IDT: 16-byte 64-bit interrupt gates to the stubs below. */
        movl $idt, %edi
        movl $isr_stubs, %edx
        xorl %ecx, %ecx
1:      movl %edx, %eax
        movw %ax, (%edi)
        movw $SEL_KCODE64, 2(%edi)
        movw $0x8e00, 4(%edi)
        shrl $16, %eax
        movw %ax, 6(%edi)
        addl $16, %edi
        addl $16, %edx
        incl %ecx
        cmpl $VEC_COUNT, %ecx
        jne 1b

        lgdt gdt_ptr
        ljmp $SEL_KCODE32, $2f
2:      movw $SEL_KDATA, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        movw %ax, %fs
        movw %ax, %gs

        /* Local APIC in virtual-wire mode so PIC interrupts reach the CPU
         * without firmware: software-enable (SVR), LINT0 ExtINT, LINT1 NMI. */
        movl $1, %eax
        cpuid
        testl $(1 << 9), %edx
        jz 3f
        movl $0x12f, 0xfee000f0
        movl $0x700, 0xfee00350
        movl $0x400, 0xfee00360
3:
        /* 8259 PICs: ICW1-4 remap IRQs to vectors 0x20/0x28 (the BIOS left
         * IRQ0 on vector 8, a fault vector), then mask every line. */
        movb $0x11, %al
        outb %al, $0x20
        outb %al, $0xa0
        movb $0x20, %al
        outb %al, $0x21
        movb $0x28, %al
        outb %al, $0xa1
        movb $0x04, %al
        outb %al, $0x21
        movb $0x02, %al
        outb %al, $0xa1
        movb $0x01, %al
        outb %al, $0x21
        outb %al, $0xa1
        movb $0xff, %al
        outb %al, $0x21
        outb %al, $0xa1

        /* Long mode must be in CPUID (KVM refuses EFER.LME otherwise): say
         * so on COM1 instead of dying silently. */
        movl $0x80000000, %eax
        cpuid
        cmpl $0x80000001, %eax
        jb no_long_mode
        movl $0x80000001, %eax
        cpuid
        testl $(1 << 29), %edx
        jz no_long_mode

        /* Long mode: PAE, CR3, EFER.LME, then paging (and WP), with the
         * caches on (CR0.CD and NW clear; reset leaves them set, and a
         * loader may too: every store then runs uncached, 10 us each on
         * PVM). */
        movl %cr4, %eax
        orl $0x20, %eax
        movl %eax, %cr4
        movl $pml4, %eax
        movl %eax, %cr3
        movl $0xc0000080, %ecx
        rdmsr
        orl $0x100, %eax
        wrmsr
        movl %cr0, %eax
        andl $0x9fffffff, %eax
        orl $0x80010000, %eax
        movl %eax, %cr0
        ljmp $SEL_KCODE64, $long64

no_long_mode: /* still 32-bit, no IDT: print and stop */
        movl $no_lm_msg, %esi
30:     lodsb
        testb %al, %al
        jz 32f
        movb %al, %ah
        movw $COM1 + 5, %dx
31:     inb %dx, %al
        testb $0x20, %al
        jz 31b
        movb %ah, %al
        movw $COM1, %dx
        outb %al, %dx
        jmp 30b
32:     cli
        hlt
        jmp 32b

        .code64
long64: /* (32-bit ELF object: absolute addresses only via movl) */
        movl $idt_ptr, %eax
        lidt (%rax)
        movw $SEL_TSS, %ax
        ltr %ax
        /* Drop to CPL3: 32-bit code, IOPL=3, interrupts on (PIC all masked;
         * PVM forces IF=1 in user mode anyway). */
        movw $SEL_UDATA, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %fs
        movw %ax, %gs
        pushq $SEL_UDATA
        movl $ustack_top, %eax
        pushq %rax
        pushq $0x3202
        pushq $SEL_UCODE32
        movl $user_main, %eax
        pushq %rax
        iretq

/* One 16-byte stub per vector: push the vector number, jump to common. */
        .align 16
isr_stubs:
        .set vec, 0
        .rept VEC_COUNT
        .align 16
        pushq $vec
        jmp isr_common
        .set vec, vec + 1
        .endr

isr_common:
        cmpq $13, (%rsp)
        je gp_fault
        cmpq $32, (%rsp)
        jb fault
        /* PIC interrupt: count it, end it, return. */
        pushq %rax
        pushq %rdx
        movq 16(%rsp), %rax
        subq $32, %rax
        movl $irq_counts, %edx
        incl (%rdx, %rax, 4)
        movb $0x20, %al
        cmpq $40, 16(%rsp)
        jb 4f
        outb %al, $0xa0
4:      outb %al, $0x20
        popq %rdx
        popq %rax
        addq $8, %rsp
        iretq

/* #GP from CPL3: complete IN/OUT with the port in DX (opcodes EC-EF, with
 * an optional 0x66 prefix) or HLT (sleep until the next interrupt), then
 * step over the instruction. Anything else is a real fault. Stack on entry:
 * vector, error code, RIP, CS, RFLAGS, RSP, SS. */
gp_fault:
        pushq %rsi
        pushq %rcx
        movq 32(%rsp), %rsi /* the faulting RIP */
        movzbl (%rsi), %ecx
        movl $1, %r8d       /* instruction length */
        cmpb $0x66, %cl
        jne 20f
        movl $2, %r8d
        movzbl 1(%rsi), %ecx
20:     cmpb $0xf4, %cl
        je 26f
        cmpb $0xec, %cl
        je 21f
        cmpb $0xee, %cl
        je 23f
        cmpb $0xed, %cl
        je 22f
        cmpb $0xef, %cl
        je 24f
        popq %rcx
        popq %rsi
        jmp fault
21:     inb %dx, %al
        jmp 25f
22:     cmpl $2, %r8d
        je 27f
        inl %dx, %eax
        jmp 25f
27:     inw %dx, %ax
        jmp 25f
23:     outb %al, %dx
        jmp 25f
24:     cmpl $2, %r8d
        je 28f
        outl %eax, %dx
        jmp 25f
28:     outw %ax, %dx
        jmp 25f
26:     sti
        hlt
        cli
25:     addq %r8, %rsi
        movq %rsi, 32(%rsp)
        popq %rcx
        popq %rsi
        addq $16, %rsp /* vector, error code */
        iretq

sys_halt:
        cli
5:      hlt
        jmp 5b

/* "FAULT vec=<v> w1=.. w2=.. w3=.." on COM1: the words after the vector
 * are the error code (if any), RIP, CS, ... */
fault:
        movl $fault_msg, %esi
        call put_str
        movq (%rsp), %rax
        call put_hex
        movq $1, %rbx
6:      movl $fault_word, %esi
        call put_str
        movq (%rsp, %rbx, 8), %rax
        call put_hex
        incq %rbx
        cmpq $4, %rbx
        jne 6b
        movb $'\n', %al
        call put_char
        jmp sys_halt

put_char: /* %al -> COM1 */
        movl %eax, %r8d
        movw $COM1 + 5, %dx
7:      inb %dx, %al
        testb $0x20, %al
        jz 7b
        movl %r8d, %eax
        movw $COM1, %dx
        outb %al, %dx
        ret
put_str: /* NUL-terminated string at %rsi */
        lodsb
        testb %al, %al
        jz 8f
        call put_char
        jmp put_str
8:      ret
put_hex: /* %rax as 16 hex digits */
        movq %rax, %r9
        movl $16, %ecx
9:      rolq $4, %r9
        movl %r9d, %eax
        andl $15, %eax
        movl $hex_digits, %edi
        movb (%rdi, %rax), %al
        call put_char
        decl %ecx
        jnz 9b
        ret

        .section .rodata
no_lm_msg:
        .asciz "PROBE-FAIL no long mode in CPUID (0x80000001 EDX bit 29)\n"
fault_msg:
        .asciz "FAULT vec="
fault_word:
        .asciz " w="
hex_digits:
        .ascii "0123456789abcdef"

        .data
        .align 8
gdt:
        .quad 0
        .quad 0x00af9a000000ffff /* 0x08 kernel code, 64-bit */
        .quad 0x00cf92000000ffff /* 0x10 kernel data */
        .quad 0x00cffa000000ffff /* 0x18 user code, 32-bit, DPL3 */
        .quad 0x00cff2000000ffff /* 0x20 user data, DPL3 */
        .quad 0x0000890000000067 /* 0x28 64-bit TSS, 104 bytes, base patched */
        .quad 0
        .quad 0x00cf9a000000ffff /* 0x38 kernel code, 32-bit (boot only) */
gdt_end:
gdt_ptr:
        .word gdt_end - gdt - 1
        .long gdt
        .align 8
idt_ptr:
        .word VEC_COUNT * 16 - 1
        .long idt, 0

        .align 16
tss:    /* 64-bit TSS: only RSP0 matters; no I/O bitmap (IOPL=3) */
        .long 0
        .long kstack_top, 0
        .fill 23, 4, 0
        .word 0, 104

        .align 4
        .globl irq_counts
irq_counts:
        .fill 16, 4, 0

        /* Identity map of the low 4 GiB: PML4 -> PDPT -> 4 PDs of 2 MiB pages
         * (present, writable, user), so CPL3 reaches RAM, the frame buffer
         * and device MMIO alike. */
        .align 4096
pml4:
        .long pdpt + 7, 0
        .fill 511, 8, 0
pdpt:
        .long pd + 7, 0
        .long pd + 0x1000 + 7, 0
        .long pd + 0x2000 + 7, 0
        .long pd + 0x3000 + 7, 0
        .fill 508, 8, 0
pd:
        .set pde, 0
        .rept 2048
        .long ((pde & 0x7ff) << 21) | 0x87, pde >> 11
        .set pde, pde + 1
        .endr

        /* Boot-time bss: written before CPL3 starts, so probe.c must not
         * clear it; everything else in .bss is zeroed by user_main (a loader
         * that skips bss zeroing does not break the guest). */
        .section .bss.boot, "aw", @nobits
        .align 16
        .globl boot_magic, boot_info
boot_magic:
        .long 0
boot_info:
        .long 0
        .align 16
idt:
        .skip VEC_COUNT * 16
        .align 16
        .skip 8192
kstack_top:
        .skip 32768
ustack_top:
        .section .note.GNU-stack, "", @progbits
