/* virtio-blk over the virtio 1.x modern PCI transport (1af4:1042), one split
 * virtqueue, polled. disk_run writes a pattern to sectors 0..n-1, flushes,
 * reads them back and verifies: sector s holds "TBDISK " + s as 8 decimal
 * digits + '\n' in bytes 0..15, then byte i = (s + i) & 0xff for
 * i = 16..511. disk_bench times large sequential writes and reads with
 * several requests in flight (see README.md). */
#include "probe.h"

#define QSIZE 32
#define MAX_SECTORS 64
enum { CAP_COMMON = 1, CAP_NOTIFY = 2, CAP_ISR = 3, CAP_DEVICE = 4 };
enum { T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8 };

struct desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags, next;
};
struct avail {
  uint16_t flags, idx, ring[QSIZE], used_event;
};
struct used_elem {
  uint32_t id, len;
};
struct used {
  uint16_t flags, idx;
  struct used_elem ring[QSIZE];
  uint16_t avail_event;
};
struct req_hdr {
  uint32_t type, reserved;
  uint64_t sector;
};

static struct desc descs[QSIZE] __attribute__((aligned(16)));
static struct avail avail __attribute__((aligned(2)));
/* The used ring on a page of its own, as Linux lays out a vring: only the
 * device writes that page, so a VMM that copies guest memory by the vCPUs'
 * dirty log alone (a teleport) misses the device's updates. */
static union {
  struct used ring;
  uint8_t page[4096];
} used_page __attribute__((aligned(4096)));
#define used (used_page.ring)
static struct req_hdr hdr;
static volatile uint8_t status;
static uint8_t wbuf[MAX_SECTORS * 512], rbuf[MAX_SECTORS * 512];

static volatile uint8_t *common, *device_cfg, *isr_cfg;
static volatile uint16_t* notify;
static uint16_t last_used;

static void fail(const char* why) {
  puts_("DISK-FAIL ");
  puts_(why);
  putc_('\n');
}

static int find_caps(const struct pci_dev* d) {
  uint32_t notify_mult = 0;
  volatile uint8_t* notify_base = 0;
  uint16_t notify_off_cap = 0;
  if (!(pci_read16(d, 0x06) & 0x10))
    return 0;
  for (uint8_t p = pci_read8(d, 0x34) & 0xfc, n = 0; p && n < 48;
       p = pci_read8(d, (uint8_t)(p + 1)) & 0xfc, n++) {
    if (pci_read8(d, p) != 0x09)
      continue; /* vendor-specific: virtio */
    uint8_t type = pci_read8(d, (uint8_t)(p + 3)),
            bar = pci_read8(d, (uint8_t)(p + 4));
    uint32_t off = pci_read32(d, (uint8_t)(p + 8));
    if (bar > 5)
      continue;
    uint32_t base = pci_mem_bar(d, bar, 0);
    if (!base)
      continue;
    volatile uint8_t* at = (volatile uint8_t*)(base + off);
    if (type == CAP_COMMON)
      common = at;
    else if (type == CAP_DEVICE)
      device_cfg = at;
    else if (type == CAP_ISR)
      isr_cfg = at;
    else if (type == CAP_NOTIFY) {
      notify_base = at;
      notify_mult = pci_read32(d, (uint8_t)(p + 16));
      notify_off_cap = 1;
    }
  }
  if (!common || !device_cfg || !notify_off_cap)
    return 0;
  uint16_t qoff = *(volatile uint16_t*)(common + 0x1e);
  notify = (volatile uint16_t*)(notify_base + qoff * notify_mult);
  return 1;
}

static int device_init(void) {
  volatile uint8_t* st = common + 0x14;
  memset(descs, 0, sizeof descs);
  memset(&avail, 0, sizeof avail);
  memset(&used, 0, sizeof used);
  last_used = 0;
  *st = 0;
  for (int i = 0; i < 100000 && *st; i++)
    cpu_relax();
  *st = 1;
  *st = 1 | 2;                              /* ACKNOWLEDGE, DRIVER */
  *(volatile uint32_t*)(common + 0x00) = 1; /* device features 32..63 */
  if (!(*(volatile uint32_t*)(common + 0x04) & 1)) {
    fail("no VIRTIO_F_VERSION_1");
    return 0;
  }
  *(volatile uint32_t*)(common + 0x08) = 0;
  *(volatile uint32_t*)(common + 0x0c) = 0;
  *(volatile uint32_t*)(common + 0x08) = 1;
  *(volatile uint32_t*)(common + 0x0c) = 1; /* VERSION_1 only */
  *st = 1 | 2 | 8;                          /* FEATURES_OK */
  if (!(*st & 8)) {
    fail("features not accepted");
    return 0;
  }
  *(volatile uint16_t*)(common + 0x16) = 0; /* queue_select */
  uint16_t max = *(volatile uint16_t*)(common + 0x18);
  if (max < 3) {
    fail("queue too small");
    return 0;
  }
  *(volatile uint16_t*)(common + 0x18) = max < QSIZE ? max : QSIZE;
  if (*(volatile uint16_t*)(common + 0x18) != QSIZE) {
    fail("queue size not 32");
    return 0;
  }
  *(volatile uint64_t*)(common + 0x20) = (uint32_t)descs;
  *(volatile uint64_t*)(common + 0x28) = (uint32_t)&avail;
  *(volatile uint64_t*)(common + 0x30) = (uint32_t)&used;
  *(volatile uint16_t*)(common + 0x1c) = 1; /* queue_enable */
  *st = 1 | 2 | 4 | 8;                      /* DRIVER_OK */
  return 1;
}

/* One request: header, optional data buffer, status byte; polled. */
static int request(uint32_t type, uint64_t sector, void* buf, uint32_t len) {
  hdr.type = type;
  hdr.reserved = 0;
  hdr.sector = sector;
  status = 0xff;
  descs[0] = (struct desc){(uint32_t)&hdr, sizeof hdr, 1, 1};
  uint16_t n = 1;
  if (len) {
    descs[1] = (struct desc){(uint32_t)buf, len,
                             (uint16_t)(1 | (type == T_OUT ? 0 : 2)), 2};
    n = 2;
  }
  descs[n] = (struct desc){(uint32_t)&status, 1, 2, 0};
  avail.ring[avail.idx % QSIZE] = 0;
  barrier();
  avail.idx++;
  barrier();
  *notify = 0;
  uint64_t end = rdtsc() + tsc_per_ms() * 5000;
  while (*(volatile uint16_t*)&used.idx == last_used)
    if ((int64_t)(rdtsc() - end) > 0)
      return -1;
  last_used++;
  barrier();
  return status;
}

static void pattern(uint8_t* p, uint32_t s) {
  const char* tag = "TBDISK ";
  for (int i = 0; i < 7; i++)
    p[i] = (uint8_t)tag[i];
  for (uint32_t i = 0, v = s; i < 8; i++, v /= 10)
    p[14 - i] = (uint8_t)('0' + v % 10);
  p[15] = '\n';
  for (uint32_t i = 16; i < 512; i++)
    p[i] = (uint8_t)(s + i);
}

/* Finds and initialises the device; its capacity in sectors, 0 on failure
 * (reported). */
static struct pci_dev disk_dev;

uint64_t disk_open(void) {
  struct pci_dev d;
  if (!pci_find(0x1af4, 0x1042, &d)) {
    fail("no virtio-blk 1af4:1042");
    return 0;
  }
  if (!common && !find_caps(&d)) {
    fail("virtio capabilities missing");
    return 0;
  }
  if (!device_init())
    return 0;
  disk_dev = d;
  uint64_t capacity =
      *(volatile uint32_t*)device_cfg
      | ((uint64_t) * (volatile uint32_t*)(device_cfg + 4) << 32);
  puts_("DISK-CAPACITY ");
  putu((uint32_t)capacity);
  putc_('\n');
  return capacity;
}

void disk_run(uint32_t sectors) {
  if (sectors > MAX_SECTORS)
    sectors = MAX_SECTORS;
  uint64_t capacity = disk_open();
  if (!capacity)
    return;
  if (capacity < sectors) {
    fail("capacity too small");
    return;
  }
  char id[21];
  memset(id, 0, sizeof id);
  if (request(T_GET_ID, 0, id, 20) == 0) {
    puts_("DISK-ID ");
    puts_(id);
    putc_('\n');
  }
  for (uint32_t s = 0; s < sectors; s++)
    pattern(wbuf + s * 512, s);
  int r = request(T_OUT, 0, wbuf, sectors * 512);
  if (r != 0) {
    fail(r < 0 ? "write timeout" : "write status");
    return;
  }
  if ((r = request(T_FLUSH, 0, 0, 0)) != 0) {
    fail(r < 0 ? "flush timeout" : "flush status");
    return;
  }
  memset(rbuf, 0, sizeof rbuf);
  if ((r = request(T_IN, 0, rbuf, sectors * 512)) != 0) {
    fail(r < 0 ? "read timeout" : "read status");
    return;
  }
  for (uint32_t i = 0; i < sectors * 512; i++)
    if (rbuf[i] != wbuf[i]) {
      puts_("DISK-FAIL mismatch at byte ");
      putu(i);
      putc_('\n');
      return;
    }
  puts_("DISK-OK ");
  putu(sectors);
  putc_('\n');
}

/* ---- the queue for diskw.c: chains at fixed descriptors, polled ------ */

void vq_add(uint16_t head, const void* hdr, void* buf, uint32_t len,
            int device_writes, volatile uint8_t* st) {
  uint16_t n = (uint16_t)(head + 1);
  descs[head] = (struct desc){(uint32_t)hdr, 16, 1, n};
  if (len) {
    descs[n] = (struct desc){(uint32_t)buf, len,
                             (uint16_t)(1 | (device_writes ? 2 : 0)),
                             (uint16_t)(n + 1)};
    n++;
  }
  descs[n] = (struct desc){(uint32_t)st, 1, 2, 0};
  avail.ring[avail.idx % QSIZE] = head;
  barrier();
  avail.idx++;
}

void vq_kick(void) {
  barrier();
  *notify = 0;
}

int vq_take(uint32_t* id) {
  if (*(volatile uint16_t*)&used.idx == last_used)
    return 0;
  barrier();
  *id = used.ring[last_used % QSIZE].id;
  last_used++;
  return 1;
}

/* ---- telebox.diskbench: sequential throughput ---------------------------
 * `depth` slots, each with its own header, data buffer (`req` bytes, at
 * physical 16 MiB up) and status byte, using descriptors 3*slot..3*slot+2.
 * A slot is refilled as soon as its request completes; one notify per
 * batch of refills. Every chunk carries the same data (slot 0's pattern),
 * so after the read pass every slot must hold it again. */
#define BENCH_MAX_DEPTH 8
#define BENCH_BASE (16u << 20)
extern volatile uint32_t irq_counts[16];
/* Interrupt mode: the PIC line from config 0x3c; completions are only
 * looked at after an interrupt, and each interrupt's ISR read acks it. */
static int bench_irq = -1;
static uint32_t bench_irqs_seen, bench_isr_reads;
static const char* bench_why = "";
static struct req_hdr bhdr[BENCH_MAX_DEPTH];
static volatile uint8_t bstatus[BENCH_MAX_DEPTH];

static void bench_submit(uint32_t slot, uint32_t type, uint64_t sector,
                         uint32_t len) {
  uint16_t h = (uint16_t)(3 * slot);
  uint8_t* buf = (uint8_t*)(BENCH_BASE + slot * len);
  bhdr[slot] = (struct req_hdr){type, 0, sector};
  bstatus[slot] = 0xff;
  descs[h] = (struct desc){(uint32_t)&bhdr[slot], sizeof bhdr[slot], 1,
                           (uint16_t)(h + 1)};
  descs[h + 1] =
      (struct desc){(uint32_t)buf, len, (uint16_t)(1 | (type == T_OUT ? 0 : 2)),
                    (uint16_t)(h + 2)};
  descs[h + 2] = (struct desc){(uint32_t)&bstatus[slot], 1, 2, 0};
  avail.ring[avail.idx % QSIZE] = h;
  barrier();
  avail.idx++;
}

/* Moves `total` bytes in `len`-byte requests, `depth` in flight; guest
 * microseconds, or 0 on a failed or timed-out request. */
static uint32_t bench_pass(uint32_t type, uint32_t total, uint32_t len,
                           uint32_t depth) {
  uint32_t chunks = total / len, next = 0, done = 0;
  uint32_t free_mask = (1u << depth) - 1;
  uint64_t start = rdtsc(), limit = tsc_per_ms() * 5000, last_progress = start;
  while (done < chunks) {
    int queued = 0;
    while (free_mask && next < chunks) {
      uint32_t slot = (uint32_t)__builtin_ctz(free_mask);
      free_mask &= ~(1u << slot);
      bench_submit(slot, type, (uint64_t)next++ * (len / 512), len);
      queued = 1;
    }
    if (queued) {
      barrier();
      *notify = 0;
    }
    if (bench_irq >= 0) {
      while (*(volatile uint16_t*)&used.idx == last_used) {
        uint32_t seen = irq_counts[bench_irq];
        while (irq_counts[bench_irq] == seen) {
          if (rdtsc() - last_progress > limit) {
            bench_why = " (no interrupt)";
            return 0;
          }
          cpu_relax();
        }
        bench_irqs_seen++;
        bench_isr_reads += (*isr_cfg & 1) != 0; /* reading acks INTx */
      }
    }
    while (*(volatile uint16_t*)&used.idx == last_used) {
      if (rdtsc() - last_progress > limit) {
        bench_why = " (timeout)";
        return 0;
      }
      cpu_relax();
    }
    while (*(volatile uint16_t*)&used.idx != last_used) {
      barrier();
      uint32_t slot = used.ring[last_used % QSIZE].id / 3;
      last_used++;
      if (slot >= depth || bstatus[slot] != 0) {
        bench_why = " (request failed)";
        return 0;
      }
      free_mask |= 1u << slot;
      done++;
    }
    last_progress = rdtsc();
  }
  uint32_t us =
      (uint32_t)div64((rdtsc() - start) * 1000, (uint32_t)tsc_per_ms());
  return us ? us : 1;
}

static void bench_line(const char* what, uint32_t bytes, uint32_t us) {
  puts_("DISK-BENCH ");
  puts_(what);
  putc_(' ');
  putu(bytes);
  putc_(' ');
  putu(us);
  putc_('\n');
}

/* Unmasks the disk's PIC line (config 0x3c, as firmware or the VMM set
 * it); the IRQ number, or -1 when there is none usable. */
static int bench_irq_on(void) {
  uint8_t line = pci_read8(&disk_dev, 0x3c);
  if (line == 0 || line > 15 || line == 2 || !isr_cfg)
    return -1;
  if (line >= 8) {
    outb(0xa1, (uint8_t)(inb(0xa1) & ~(1u << (line - 8))));
    outb(0x21, (uint8_t)(inb(0x21) & ~4u)); /* cascade */
  } else {
    outb(0x21, (uint8_t)(inb(0x21) & ~(1u << line)));
  }
  return line;
}

static void bench_irq_off(int line) {
  if (line >= 8)
    outb(0xa1, (uint8_t)(inb(0xa1) | (1u << (line - 8))));
  else if (line > 0)
    outb(0x21, (uint8_t)(inb(0x21) | (1u << line)));
}

void disk_bench(uint32_t mib, uint32_t req_kib, uint32_t depth,
                uint32_t mem_kib, uint32_t use_irq) {
  if (!req_kib)
    req_kib = 1024;
  if (req_kib > 4096)
    req_kib = 4096;
  if (!depth)
    depth = 4;
  if (depth > BENCH_MAX_DEPTH)
    depth = BENCH_MAX_DEPTH;
  if (mib > 4095)
    mib = 4095;
  uint32_t len = req_kib * 1024, total = mib << 20;
  total -= total % len;
  puts_("DISK-BENCH setup mib=");
  putu(total >> 20);
  puts_(" req_kib=");
  putu(req_kib);
  puts_(" depth=");
  putu(depth);
  putc_('\n');
  if (mem_kib
      && (uint64_t)BENCH_BASE + (uint64_t)len * depth
             > (uint64_t)mem_kib * 1024) {
    puts_("DISK-BENCH-FAIL not enough RAM for the buffers\n");
    return;
  }
  uint64_t capacity = disk_open();
  if (!capacity)
    return;
  if (!total || capacity < total / 512) {
    puts_("DISK-BENCH-FAIL disk smaller than the benchmark\n");
    return;
  }
  if (use_irq) {
    bench_irq = bench_irq_on();
    if (bench_irq < 0) {
      puts_("DISK-BENCH-FAIL no usable interrupt line in PCI config 0x3c\n");
      return;
    }
    (void)*isr_cfg; /* start from a clear ISR */
  }
  uint8_t* slot0 = (uint8_t*)BENCH_BASE;
  for (uint32_t s = 0; s < len / 512; s++)
    pattern(slot0 + s * 512, s);
  for (uint32_t i = 1; i < depth; i++)
    memcpy(slot0 + i * len, slot0, len);
  uint32_t us = bench_pass(T_OUT, total, len, depth);
  if (!us || request(T_FLUSH, 0, 0, 0) != 0) {
    bench_irq_off(bench_irq);
    puts_("DISK-BENCH-FAIL write");
    puts_(bench_why);
    putc_('\n');
    return;
  }
  bench_line("write", total, us);
  memset(slot0, 0, (size_t)len * depth);
  if (!(us = bench_pass(T_IN, total, len, depth))) {
    bench_irq_off(bench_irq);
    puts_("DISK-BENCH-FAIL read");
    puts_(bench_why);
    putc_('\n');
    return;
  }
  bench_line("read", total, us);
  uint8_t want[512];
  for (uint32_t i = 0; i < depth && i * len < total; i++)
    for (uint32_t s = 0; s < len / 512; s++) {
      pattern(want, s);
      const uint8_t* got = slot0 + i * len + s * 512;
      for (uint32_t b = 0; b < 512; b++)
        if (got[b] != want[b]) {
          puts_("DISK-BENCH-FAIL read data differs\n");
          return;
        }
    }
  if (bench_irq >= 0) {
    bench_irq_off(bench_irq);
    puts_("DISK-BENCH irq=");
    putu((uint32_t)bench_irq);
    puts_(" interrupts=");
    putu(bench_irqs_seen);
    puts_(" isr_set=");
    putu(bench_isr_reads);
    putc_('\n');
    bench_irq = -1;
  }
  puts_("DISK-BENCH-OK\n");
}
