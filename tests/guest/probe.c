/* telebox probe guest, CPL3 part: command line, timing, workloads, power.
 * See README.md for the command-line keys and the serial protocol. */
#include "probe.h"

extern uint32_t boot_magic, boot_info;
extern volatile uint32_t irq_counts[16];

#define COM1 0x3f8
#define PM_BASE                                                                \
  0x600 /* PIIX4-style ACPI PM block (SeaBIOS layout; telebox power device) */
#define PM1_STS (PM_BASE + 0)
#define PM1_EN (PM_BASE + 2)
#define PM1_CNT (PM_BASE + 4)
#define PWRBTN (1u << 8)
#define GED_SLEEP_CTL                                                          \
  ((volatile uint8_t*)0xfea00200u) /* QEMU microvm ACPI GED */

struct mbi {
  uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
};

static uint32_t tsc_khz;
static int
    timer_ok; /* PIT interrupts arrive: idle with hlt instead of spinning */

void* memset(void* d, int c, size_t n) {
  uint8_t* p = d;
  while (n--)
    *p++ = (uint8_t)c;
  return d;
}
void* memcpy(void* d, const void* s, size_t n) {
  __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
  return d;
}
void* memmove(void* d, const void* s, size_t n) {
  uint8_t* dp = d;
  const uint8_t* sp = s;
  if (dp <= sp || dp >= sp + n)
    return memcpy(d, s, n);
  while (n--)
    dp[n] = sp[n];
  return d;
}

/* COM1 output; bounded THRE wait so a missing UART cannot hang the guest.
 * With the 16550A's transmit FIFO on, THRE means the FIFO is empty, so one
 * LSR read covers 16 bytes: every port access is a trap (and an exit) on
 * PVM, which makes this half the cost of a line. */
static uint32_t tx_room, tx_fifo = 1;

static void serial_init(void) {
  outb(COM1 + 2, 0x07); /* FCR: FIFOs on, both cleared */
  if ((inb(COM1 + 2) & 0xc0) == 0xc0)
    tx_fifo = 16; /* IIR bits 7-6: FIFOs enabled (16550A) */
}

void putc_(char c) {
  if (!tx_room) {
    for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++) {
    }
    tx_room = tx_fifo;
  }
  tx_room--;
  outb(COM1, (uint8_t)c);
}
void puts_(const char* s) {
  while (*s)
    putc_(*s++);
}
void putu(uint32_t v) {
  char b[12];
  int i = 0;
  do {
    b[i++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (i)
    putc_(b[--i]);
}
void putx(uint32_t v, int digits) {
  for (int i = digits - 1; i >= 0; i--)
    putc_("0123456789abcdef"[(v >> (i * 4)) & 15]);
}
/* 64/32 -> 64 division with two divl (no libgcc in a freestanding build). */
uint64_t div64(uint64_t a, uint32_t d) {
  uint32_t hi = (uint32_t)(a >> 32), lo = (uint32_t)a, qhi = hi / d, r = hi % d,
           qlo;
  __asm__("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(r), "rm"(d));
  return ((uint64_t)qhi << 32) | qlo;
}
uint64_t tsc_per_ms(void) {
  return tsc_khz;
}
static __attribute__((noreturn)) void halt_forever(void) {
  outb(0x21, 0xff); /* mask every PIC line: nothing wakes the CPU again */
  for (;;)
    sleep_irq();
}
void delay_ms(uint32_t ms) {
  uint64_t end = rdtsc() + (uint64_t)tsc_khz * ms;
  while ((int64_t)(rdtsc() - end) < 0)
    cpu_relax();
}

static int starts(const char* s, const char* p) {
  while (*p)
    if (*s++ != *p++)
      return 0;
  return 1;
}
static uint32_t atou(const char** s) {
  uint32_t v = 0;
  while (**s >= '0' && **s <= '9')
    v = v * 10 + (uint32_t)(*(*s)++ - '0');
  return v;
}

struct options {
  uint32_t tick_ms, dirty_mib, dirty_rate, poweroff, anim, disk, tsc_khz,
      iobench, bench_mib, bench_kib, bench_depth, bench_irq, diskw_sectors,
      diskw_per_tick, diskw_depth, diskw_flush;
};

static void parse_cmdline(const char* s, struct options* o) {
  while (*s) {
    while (*s == ' ')
      s++;
    if (starts(s, "telebox.ticker=")) {
      s += 15;
      o->tick_ms = atou(&s);
    } else if (starts(s, "telebox.dirty=")) {
      s += 14;
      o->dirty_mib = atou(&s);
      if (*s == ':') {
        s++;
        o->dirty_rate = atou(&s);
      }
    } else if (starts(s, "telebox.poweroff=")) {
      s += 17;
      o->poweroff = atou(&s);
    } else if (starts(s, "telebox.anim=")) {
      s += 13;
      o->anim = atou(&s);
    } else if (starts(s, "telebox.disk=")) {
      s += 13;
      o->disk = atou(&s);
    } else if (starts(s, "telebox.diskbench=")) {
      s += 18;
      o->bench_mib = atou(&s);
      if (*s == ':') {
        s++;
        o->bench_kib = atou(&s);
        if (*s == ':') {
          s++;
          o->bench_depth = atou(&s);
          if (*s == ':') {
            s++;
            o->bench_irq = atou(&s);
          }
        }
      }
    } else if (starts(s, "telebox.diskwriter=")) {
      s += 19;
      o->diskw_sectors = atou(&s);
      if (*s == ':') {
        s++;
        o->diskw_per_tick = atou(&s);
        if (*s == ':') {
          s++;
          o->diskw_depth = atou(&s);
          if (*s == ':') {
            s++;
            o->diskw_flush = atou(&s);
          }
        }
      }
    } else if (starts(s, "tsc_khz=")) {
      s += 8;
      o->tsc_khz = atou(&s);
    } else if (starts(s, "telebox.iobench=")) {
      s += 16;
      o->iobench = atou(&s);
    }
    while (*s && *s != ' ')
      s++;
  }
}

static uint32_t median5(uint32_t v[5]) {
  for (int i = 1; i < 5; i++)
    for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
      uint32_t t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return v[2];
}

/* PIT channel 0 current count (latch command, then low and high byte). */
static uint16_t pit0_count(void) {
  outb(0x43, 0x00);
  uint8_t lo = inb(0x40);
  uint8_t hi = inb(0x40);
  return (uint16_t)(lo | hi << 8);
}

/* TSC against the PIT's own counter over ~33 ms (40000 counts of channel 0
 * in mode 2 with the full 65536 reload). Reading the counter, not counting
 * interrupts, keeps late or dropped timer interrupts on a loaded host out of
 * it (an interrupt count read up to 5x high here). 0 when no PIT counts. */
static uint32_t pit_tsc_khz_once(void) {
  outb(0x43, 0x34);
  outb(0x40, 0);
  outb(0x40, 0);
  uint16_t prev = pit0_count();
  uint64_t t0 = rdtsc();
  uint32_t elapsed = 0;
  while (elapsed < 40000) {
    uint16_t c = pit0_count();
    elapsed += (uint16_t)(prev - c);
    prev = c;
    if (rdtsc() - t0 > 4000000000ull)
      return 0; /* over a second: no PIT */
  }
  return (uint32_t)div64((rdtsc() - t0) * 1193182u, elapsed * 1000u);
}

/* The median of five runs: a descheduled vCPU between a latch and its TSC
 * read skews single runs either way. */
static uint32_t calibrate_tsc_khz(void) {
  uint32_t v[5];
  for (int i = 0; i < 5; i++)
    if (!(v[i] = pit_tsc_khz_once()))
      return 0;
  return median5(v);
}

/* PIT channel 0 at 1 kHz and IRQ0+IRQ1 unmasked; the guest idles with hlt
 * only if a timer interrupt really arrives (else it spins on the TSC). */
static void timer_init(void) {
  outb(0x43, 0x34);
  outb(0x40, 1193 & 0xff);
  outb(0x40, 1193 >> 8);
  uint32_t before = irq_counts[0];
  outb(
      0x21,
      0xfc); /* unmask IRQ0 (timer), IRQ1 (keyboard); boot.S remapped the PIC */
  uint64_t end = rdtsc() + (uint64_t)tsc_khz * 50;
  while (irq_counts[0] == before && (int64_t)(rdtsc() - end) < 0)
    cpu_relax();
  timer_ok = irq_counts[0] != before;
  if (!timer_ok)
    outb(0x21, 0xff);
}

static __attribute__((noreturn)) void power_off(void) {
  puts_("TELEBOX-POWEROFF\n");
  outw(PM1_CNT,
       0x2000); /* SLP_EN, SLP_TYP 0: PIIX4 S5 in QEMU, telebox power device */
  if (!pci_present())
    *GED_SLEEP_CTL = (5 << 2) | 0x20; /* microvm: GED SLP_TYP S5 | SLP_EN */
  halt_forever();
}

/* ACPI power button: PM1_STS.PWRBTN_STS (write 1 to clear). */
static int power_button_pressed(void) {
  uint16_t sts = inw(PM1_STS);
  if (sts == 0xffff || !(sts & PWRBTN))
    return 0;
  outw(PM1_STS, PWRBTN);
  return 1;
}

struct dirtier {
  volatile uint32_t* buf;
  uint32_t pages, pos, ctr, per_tick, bad;
};

static void dirtier_init(struct dirtier* d, const struct options* o,
                         const struct mbi* mbi) {
  d->buf = (volatile uint32_t*)(16u << 20);
  uint32_t avail_mib = (mbi && (mbi->flags & 1)) ? mbi->mem_upper / 1024 : 0;
  uint32_t mib = o->dirty_mib;
  if (avail_mib && mib + 17 > avail_mib)
    mib = avail_mib > 17 ? avail_mib - 17 : 0;
  d->pages = mib * 256u;
  d->pos = 0;
  d->ctr = 1;
  d->per_tick = 0;
  d->bad = 0;
  if (!d->pages)
    return;
  for (uint32_t i = 0; i < d->pages; i++)
    d->buf[i * 1024u] = d->ctr++;
  d->per_tick = o->dirty_rate * 256u * (o->tick_ms ? o->tick_ms : 10) / 1000u;
  if (!d->per_tick && o->dirty_rate)
    d->per_tick = 1;
  puts_("DIRTIER-RUNNING mib=");
  putu(mib);
  puts_(" rate_mibps=");
  putu(o->dirty_rate);
  puts_(" pages_per_tick=");
  putu(d->per_tick);
  putc_('\n');
}

/* Each page's first word holds the counter value of its last write, which
 * was exactly `pages` writes ago: a page a teleport (or anything else)
 * lost or garbled shows up at the next visit, reported once. */
static void dirtier_tick(struct dirtier* d) {
  for (uint32_t i = 0; i < d->per_tick; i++) {
    uint32_t want = d->ctr - d->pages, got = d->buf[d->pos * 1024u];
    if (got != want && !d->bad) {
      d->bad = 1;
      puts_("DIRTY-BAD page=");
      putu(d->pos);
      puts_(" got=");
      putu(got);
      puts_(" want=");
      putu(want);
      putc_('\n');
    }
    d->buf[d->pos * 1024u] = d->ctr++;
    if (++d->pos == d->pages)
      d->pos = 0;
  }
}

/* Average cost of one port read from CPL3 (COM1 LSR): the whole round trip
 * (#GP + ring-0 completion on PVM, plus the VMM exit). */
static void io_bench(uint32_t rounds) {
  uint64_t t0 = rdtsc();
  for (uint32_t i = 0; i < rounds; i++)
    (void)inb(COM1 + 5);
  uint64_t cycles = rdtsc() - t0;
  puts_("IOBENCH inb_ns=");
  putu((uint32_t)div64(div64(cycles * 1000u, tsc_khz / 1000u), rounds));
  puts_(" rounds=");
  putu(rounds);
  putc_('\n');
}

static void print_banner(const struct mbi* mbi, uint32_t khz,
                         const char* source) {
  puts_("PROBE tsc_khz=");
  putu(khz);
  puts_(" source=");
  puts_(source);
  puts_(" mem_kib=");
  putu(mbi && (mbi->flags & 1) ? mbi->mem_upper + 1024 : 0);
  puts_(" timer=");
  puts_(timer_ok ? "irq" : "poll");
  putc_('\n');
}

extern uint8_t __bss_c_start[], __bss_c_end[];

void user_main(void) {
  memset(__bss_c_start, 0, (size_t)(__bss_c_end - __bss_c_start));
  serial_init();
  puts_("TELEBOX-GUEST-READY\n");
  struct options o = {0};
  const struct mbi* mbi =
      boot_magic == 0x2BADB002u ? (const struct mbi*)boot_info : 0;
  if (mbi && (mbi->flags & 4) && mbi->cmdline)
    parse_cmdline((const char*)mbi->cmdline, &o);
  if (o.poweroff)
    power_off();

  uint32_t khz = o.tsc_khz;
  const char* source = "cmdline";
  if (!khz && (khz = calibrate_tsc_khz()) != 0)
    source = "pit";
  tsc_khz = khz ? khz : 2000000;
  timer_init();
  if (!khz)
    source = "default";
  print_banner(mbi, tsc_khz, source);

  if (o.iobench)
    io_bench(o.iobench > 1 ? o.iobench : 1000);
  int have_display = display_init();
  if (have_display)
    display_puts("telebox probe guest - type to echo keys\n");
  keyboard_init();
  if (inw(PM1_STS) != 0xffff)
    outw(PM1_EN, PWRBTN); /* report power button presses */
  if (o.disk)
    disk_run(o.disk > 1 ? o.disk : 16);
  if (o.bench_mib)
    disk_bench(o.bench_mib, o.bench_kib, o.bench_depth,
               mbi && (mbi->flags & 1) ? mbi->mem_upper + 1024 : 0,
               o.bench_irq);

  struct dirtier d;
  dirtier_init(&d, &o, mbi);
  if (o.diskw_sectors)
    diskw_init(o.diskw_sectors, o.diskw_per_tick, o.diskw_depth, o.diskw_flush);
  puts_("TELEBOX-WORKLOAD-STARTED\n");

  uint64_t start = rdtsc(), now = start;
  uint64_t period = o.tick_ms ? (uint64_t)tsc_khz * o.tick_ms : 0;
  uint64_t next_tick = start + period, prev = start;
  uint64_t next_poll = start, next_power = start, next_anim = start;
  /* The disk writer's budget grows per tick: the ticker's, else 10 ms. */
  uint64_t wperiod = period ? period : (uint64_t)tsc_khz * 10,
           next_wtick = start;
  uint32_t khz_per_us = tsc_khz / 1000u, seq = 0, frame = 0,
           kbd_seen = irq_counts[1];
  if (!khz_per_us)
    khz_per_us = 1;
  for (;;) {
    now = rdtsc();
    if (period && (int64_t)(now - next_tick) >= 0) {
      dirtier_tick(&d);
      puts_("TK ");
      putu(seq++);
      putc_(' ');
      putu((uint32_t)div64(now - start, khz_per_us));
      putc_(' ');
      putu((uint32_t)div64(now - prev, khz_per_us));
      putc_('\n');
      prev = now;
      next_tick += period;
      if ((int64_t)(now - next_tick) > 0)
        next_tick = now + period; /* fell behind: resync */
    }
    if ((int64_t)(now - next_poll) >= 0 || irq_counts[1] != kbd_seen) {
      kbd_seen = irq_counts[1];
      keyboard_poll();
      next_poll = now + (uint64_t)tsc_khz * 10;
    }
    if ((int64_t)(now - next_power) >= 0) {
      if (power_button_pressed()) {
        puts_("POWER-BUTTON\n");
        power_off();
      }
      next_power = now + (uint64_t)tsc_khz * 100;
    }
    if (o.diskw_sectors) {
      if ((int64_t)(now - next_wtick) >= 0) {
        diskw_tick();
        next_wtick += wperiod;
        if ((int64_t)(now - next_wtick) > 0)
          next_wtick = now + wperiod;
      }
      diskw_poll(); /* completions in, new writes out; never waits */
    }
    if (have_display && o.anim && (int64_t)(now - next_anim) >= 0) {
      display_anim_frame(frame++);
      next_anim = now + (uint64_t)tsc_khz * 40;
    }
    /* Idle until the next 1 ms timer tick unless a deadline is closer. */
    uint64_t soonest = next_poll;
    if (period && (int64_t)(next_tick - soonest) < 0)
      soonest = next_tick;
    if (o.diskw_sectors && (int64_t)(next_wtick - soonest) < 0)
      soonest = next_wtick;
    if (timer_ok
        && (int64_t)(soonest - rdtsc()) > (int64_t)((uint64_t)tsc_khz * 2))
      sleep_irq();
    else
      cpu_relax();
  }
}
