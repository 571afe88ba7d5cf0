/* virtio-blk over the virtio 1.x modern PCI transport (1af4:1042), one split
 * virtqueue, polled. Writes a pattern to sectors 0..n-1, flushes, reads them
 * back and verifies: sector s holds "TBDISK " + s as 8 decimal digits + '\n'
 * in bytes 0..15, then byte i = (s + i) & 0xff for i = 16..511. */
#include "probe.h"

#define QSIZE 8
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
static struct used used __attribute__((aligned(4)));
static struct req_hdr hdr;
static volatile uint8_t status;
static uint8_t wbuf[MAX_SECTORS * 512], rbuf[MAX_SECTORS * 512];

static volatile uint8_t *common, *device_cfg;
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
    fail("queue size not 8");
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

void disk_run(uint32_t sectors) {
  struct pci_dev d;
  if (sectors > MAX_SECTORS)
    sectors = MAX_SECTORS;
  if (!pci_find(0x1af4, 0x1042, &d)) {
    fail("no virtio-blk 1af4:1042");
    return;
  }
  if (!find_caps(&d)) {
    fail("virtio capabilities missing");
    return;
  }
  if (!device_init())
    return;
  uint64_t capacity =
      *(volatile uint32_t*)device_cfg
      | ((uint64_t) * (volatile uint32_t*)(device_cfg + 4) << 32);
  puts_("DISK-CAPACITY ");
  putu((uint32_t)capacity);
  putc_('\n');
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
