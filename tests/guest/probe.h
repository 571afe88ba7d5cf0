/* Shared declarations of the telebox probe guest (CPL3 part). */
#ifndef PROBE_H
#define PROBE_H
#include <stddef.h>
#include <stdint.h>

/* Port I/O, always with the port in DX: where CPL3 lacks real IOPL=3
 * (PVM) these raise #GP and boot.S completes them (see there). */
static inline void outb(uint16_t p, uint8_t v) {
  __asm__ volatile("outb %0,%1" ::"a"(v), "d"(p));
}
static inline void outw(uint16_t p, uint16_t v) {
  __asm__ volatile("outw %0,%1" ::"a"(v), "d"(p));
}
static inline void outl(uint16_t p, uint32_t v) {
  __asm__ volatile("outl %0,%1" ::"a"(v), "d"(p));
}
static inline uint8_t inb(uint16_t p) {
  uint8_t v;
  __asm__ volatile("inb %1,%0" : "=a"(v) : "d"(p));
  return v;
}
static inline uint16_t inw(uint16_t p) {
  uint16_t v;
  __asm__ volatile("inw %1,%0" : "=a"(v) : "d"(p));
  return v;
}
static inline uint32_t inl(uint16_t p) {
  uint32_t v;
  __asm__ volatile("inl %1,%0" : "=a"(v) : "d"(p));
  return v;
}
/* Waits for the next interrupt (HLT traps to boot.S at CPL3). */
static inline void sleep_irq(void) {
  __asm__ volatile("hlt" ::: "memory");
}
static inline uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}
static inline void barrier(void) {
  __asm__ volatile("" ::: "memory");
}
static inline void cpu_relax(void) {
  __asm__ volatile("pause" ::: "memory");
}

/* probe.c */
void putc_(char c);
void puts_(const char* s);
void putu(uint32_t v);
void putx(uint32_t v, int digits);
uint64_t div64(uint64_t a, uint32_t d);
uint64_t tsc_per_ms(void);
void delay_ms(uint32_t ms);
void* memset(void* d, int c, size_t n);
void* memcpy(void* d, const void* s, size_t n);
void* memmove(void* d, const void* s, size_t n);

/* pci.c */
struct pci_dev {
  uint8_t bus, slot, fn;
  uint16_t vendor, device;
};
uint32_t pci_read32(const struct pci_dev* d, uint8_t off);
void pci_write32(const struct pci_dev* d, uint8_t off, uint32_t v);
uint16_t pci_read16(const struct pci_dev* d, uint8_t off);
void pci_write16(const struct pci_dev* d, uint8_t off, uint16_t v);
uint8_t pci_read8(const struct pci_dev* d, uint8_t off);
int pci_present(void);
int pci_find(uint16_t vendor, uint16_t device, struct pci_dev* out);
/* Memory BAR `bar` (assigned from a private window if the firmware left it
 * at 0), with memory decoding and bus mastering enabled; 0 if none or above
 * 4 GiB. */
uint32_t pci_mem_bar(const struct pci_dev* d, int bar, uint32_t* size);

/* display.c */
int display_init(void);
void display_puts(const char* s);
void display_putc(char c);
void display_anim_frame(uint32_t frame);

/* disk.c */
void disk_run(uint32_t sectors);
void disk_bench(uint32_t mib, uint32_t req_kib, uint32_t depth,
                uint32_t mem_kib, uint32_t use_irq);
/* Finds and (re)initialises the virtio-blk device: capacity in sectors, 0
 * on failure (DISK-FAIL printed). */
uint64_t disk_open(void);
/* Queues the chain header (16 bytes) [+ buf] + status byte at descriptors
 * head.. (no notify); `device_writes`: buf is written by the device. */
void vq_add(uint16_t head, const void* hdr, void* buf, uint32_t len,
            int device_writes, volatile uint8_t* status);
void vq_kick(void);
/* Takes the next used element: 1 and its head in *id, or 0 if none. */
int vq_take(uint32_t* id);

/* diskw.c: telebox.diskwriter */
void diskw_init(uint32_t sectors, uint32_t per_tick, uint32_t depth,
                uint32_t flush_every);
void diskw_tick(void);
void diskw_poll(void);

/* keyboard.c */
void keyboard_init(void);
void keyboard_poll(void);
#endif
