/* PCI configuration mechanism #1 (ports 0xcf8/0xcfc), bus 0 only. */
#include "probe.h"

static uint32_t addr(const struct pci_dev* d, uint8_t off) {
  return 0x80000000u | ((uint32_t)d->bus << 16) | ((uint32_t)d->slot << 11)
         | ((uint32_t)d->fn << 8) | (off & 0xfc);
}
uint32_t pci_read32(const struct pci_dev* d, uint8_t off) {
  outl(0xcf8, addr(d, off));
  return inl(0xcfc);
}
void pci_write32(const struct pci_dev* d, uint8_t off, uint32_t v) {
  outl(0xcf8, addr(d, off));
  outl(0xcfc, v);
}
uint16_t pci_read16(const struct pci_dev* d, uint8_t off) {
  outl(0xcf8, addr(d, off));
  return inw((uint16_t)(0xcfc + (off & 2)));
}
void pci_write16(const struct pci_dev* d, uint8_t off, uint16_t v) {
  outl(0xcf8, addr(d, off));
  outw((uint16_t)(0xcfc + (off & 2)), v);
}
uint8_t pci_read8(const struct pci_dev* d, uint8_t off) {
  outl(0xcf8, addr(d, off));
  return inb((uint16_t)(0xcfc + (off & 3)));
}

int pci_present(void) {
  static int cached = -1;
  if (cached < 0) {
    struct pci_dev host = {0, 0, 0, 0, 0};
    cached = pci_read32(&host, 0) != 0xffffffffu;
  }
  return cached;
}

int pci_find(uint16_t vendor, uint16_t device, struct pci_dev* out) {
  if (!pci_present())
    return 0;
  for (uint8_t slot = 0; slot < 32; slot++) {
    for (uint8_t fn = 0; fn < 8; fn++) {
      struct pci_dev d = {0, slot, fn, 0, 0};
      uint32_t id = pci_read32(&d, 0);
      if ((id & 0xffff) == 0xffff) {
        if (fn == 0)
          break;
        continue;
      }
      if ((id & 0xffff) == vendor && (id >> 16) == device) {
        d.vendor = vendor;
        d.device = device;
        *out = d;
        return 1;
      }
      if (fn == 0 && !(pci_read8(&d, 0x0e) & 0x80))
        break; /* single-function */
    }
  }
  return 0;
}

/* Window for BARs the firmware left unassigned (telebox pre-assigns them). */
static uint32_t next_free = 0xd0000000u;

uint32_t pci_mem_bar(const struct pci_dev* d, int bar, uint32_t* size) {
  uint8_t off = (uint8_t)(0x10 + bar * 4);
  uint16_t cmd = pci_read16(d, 0x04);
  pci_write16(d, 0x04, cmd & (uint16_t)~0x3); /* no decoding while sizing */
  uint32_t orig = pci_read32(d, off);
  if (orig & 1) {
    pci_write16(d, 0x04, cmd);
    return 0;
  } /* I/O BAR */
  int is64 = ((orig >> 1) & 3) == 2;
  uint32_t hi = is64 ? pci_read32(d, (uint8_t)(off + 4)) : 0;
  pci_write32(d, off, 0xffffffffu);
  uint32_t mask = pci_read32(d, off) & ~0xfu;
  pci_write32(d, off, orig);
  uint32_t sz = mask ? (~mask + 1) : 0;
  uint32_t base = orig & ~0xfu;
  if (sz && !base && !hi) {
    base = (next_free + sz - 1) & ~(sz - 1);
    next_free = base + sz;
    pci_write32(d, off, base | (orig & 0xf));
    if (is64)
      pci_write32(d, (uint8_t)(off + 4), 0);
  }
  pci_write16(d, 0x04, cmd | 0x6); /* memory decoding + bus master */
  if (size)
    *size = sz;
  if (!sz || hi)
    return 0; /* not implemented, or above 4 GiB (32-bit paging) */
  return base;
}
