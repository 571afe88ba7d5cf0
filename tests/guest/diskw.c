/* telebox.diskwriter: a disk writer that runs in the main loop beside the
 * ticker and the dirtier, so a teleport (or anything else) meets writes in
 * flight. It never waits for the device: each loop iteration looks at the
 * used ring (diskw_poll), each tick adds to a write budget (diskw_tick).
 *
 * Write n (n = 1, 2, ...) goes to sector RING_BASE + n % sectors and holds
 * a self-describing record (see record()), so a lost, torn or stale sector
 * shows in the image. Once the device completed write n (n to m: a run of
 * consecutive ones seen in one poll) with status 0 the guest prints
 * DISKW-ACK <n>[-<m>] <in flight>. After every <flush> completed writes
 * (default FLUSH_EVERY) it queues a FLUSH and prints DISKW-FLUSHED <m> when
 * that completed, m being the highest sequence number up to which every
 * write had completed when the flush was queued. A device error, a used
 * element naming no request, or a request not completed within TIMEOUT_MS
 * prints DISKW-FAIL <why> and stops the writer. */
#include "probe.h"

#define MAX_DEPTH 4
#define RING_BASE 64   /* after telebox.disk's sectors 0..63 */
#define FLUSH_EVERY 16 /* default */
#define TIMEOUT_MS 10000
enum { T_OUT = 1, T_FLUSH = 4 };

struct hdr {
  uint32_t type, reserved;
  uint64_t sector;
};
/* One request slot: descriptors 3 * slot .. 3 * slot + 2. */
struct slot {
  uint8_t buf[512];
  struct hdr h;
  volatile uint8_t status;
  uint8_t busy, flush;
  uint32_t seq; /* a write's sequence number; a flush's "flushed up to" */
  uint64_t since;
};

static struct slot slots[MAX_DEPTH] __attribute__((aligned(512)));
static struct {
  uint32_t on, dead, sectors, per_tick, depth, budget;
  uint32_t next_seq;   /* the next write's sequence number */
  uint32_t done_upto;  /* every write <= this has completed */
  uint32_t done_above; /* bit i: write done_upto + 1 + i completed */
  uint32_t in_flight, since_flush, flush_due, flush_every;
} w;

/* Completed writes not yet printed: one run of consecutive sequence
 * numbers, printed as one line (serial output is what costs most). */
static uint32_t run_first, run_last;

static void print_run(void) {
  if (!run_first)
    return;
  puts_("DISKW-ACK ");
  putu(run_first);
  if (run_last != run_first) {
    putc_('-');
    putu(run_last);
  }
  putc_(' ');
  putu(w.in_flight);
  putc_('\n');
  run_first = 0;
}

static void ack(uint32_t seq) {
  if (run_first && seq == run_last + 1) {
    run_last = seq;
    return;
  }
  print_run();
  run_first = run_last = seq;
}

static void fail(const char* why, uint32_t seq) {
  print_run();
  puts_("DISKW-FAIL ");
  puts_(why);
  puts_(" seq=");
  putu(seq);
  putc_('\n');
  w.dead = 1;
}

/* FNV-1a, 32 bits. */
static uint32_t fnv(uint32_t h, const uint8_t* p, uint32_t n) {
  while (n--)
    h = (h ^ *p++) * 16777619u;
  return h;
}

static void put_dec(uint8_t* p, uint32_t v, int digits) {
  for (int i = digits - 1; i >= 0; i--, v /= 10)
    p[i] = (uint8_t)('0' + v % 10);
}

/* Bytes 0..31: "TBW <seq, 10 digits> <ring slot, 7 digits> <sum, 8 hex>\n";
 * byte i = 32..511: (seq * 31 + i) & 0xff; sum = FNV-1a over bytes 0..21
 * ("TBW <seq> <slot> ") and then bytes 32..511. */
static void record(uint8_t* p, uint32_t seq, uint32_t ring_slot) {
  p[0] = 'T', p[1] = 'B', p[2] = 'W', p[3] = ' ';
  put_dec(p + 4, seq, 10);
  p[14] = ' ';
  put_dec(p + 15, ring_slot, 7);
  p[22] = ' ';
  for (uint32_t i = 32; i < 512; i++)
    p[i] = (uint8_t)(seq * 31u + i);
  uint32_t sum = fnv(fnv(2166136261u, p, 22), p + 32, 480);
  for (int i = 0; i < 8; i++)
    p[23 + i] = (uint8_t) "0123456789abcdef"[(sum >> (28 - 4 * i)) & 15];
  p[31] = '\n';
}

void diskw_init(uint32_t sectors, uint32_t per_tick, uint32_t depth,
                uint32_t flush_every) {
  if (!depth)
    depth = 2;
  if (depth > MAX_DEPTH)
    depth = MAX_DEPTH;
  if (!per_tick)
    per_tick = 1;
  w.flush_every = flush_every ? flush_every : FLUSH_EVERY;
  uint64_t capacity = disk_open();
  if (!capacity) {
    fail("no disk", 0);
    return;
  }
  if (capacity <= RING_BASE + 1) {
    fail("disk too small", 0);
    return;
  }
  if (sectors < 2)
    sectors = 2;
  if (sectors > capacity - RING_BASE)
    sectors = (uint32_t)(capacity - RING_BASE);
  w.sectors = sectors;
  w.per_tick = per_tick;
  w.depth = depth;
  w.next_seq = 1;
  w.on = 1;
  puts_("DISKW-RUNNING sectors=");
  putu(sectors);
  puts_(" base=");
  putu(RING_BASE);
  puts_(" per_tick=");
  putu(per_tick);
  puts_(" depth=");
  putu(depth);
  puts_(" flush_every=");
  putu(w.flush_every);
  putc_('\n');
}

void diskw_tick(void) {
  if (!w.on || w.dead)
    return;
  w.budget += w.per_tick;
  if (w.budget > 4 * w.per_tick)
    w.budget = 4 * w.per_tick; /* a stall does not turn into a burst */
}

static void submit(uint32_t i, int flush) {
  struct slot* s = &slots[i];
  s->busy = 1;
  s->flush = (uint8_t)flush;
  s->status = 0xff;
  s->since = rdtsc();
  if (flush) {
    s->seq = w.done_upto;
    s->h = (struct hdr){T_FLUSH, 0, 0};
    vq_add((uint16_t)(3 * i), &s->h, 0, 0, 0, &s->status);
  } else {
    s->seq = w.next_seq++;
    uint32_t ring_slot = s->seq % w.sectors;
    record(s->buf, s->seq, ring_slot);
    s->h = (struct hdr){T_OUT, 0, RING_BASE + ring_slot};
    vq_add((uint16_t)(3 * i), &s->h, s->buf, 512, 0, &s->status);
  }
  w.in_flight++;
}

/* Write `seq` completed: advances the contiguous prefix. */
static void mark_done(uint32_t seq) {
  uint32_t bit = seq - w.done_upto - 1;
  if (bit < 32)
    w.done_above |= 1u << bit;
  while (w.done_above & 1) {
    w.done_above >>= 1;
    w.done_upto++;
  }
}

static void complete(uint32_t id) {
  uint32_t i = id / 3;
  if (id % 3 || i >= w.depth || !slots[i].busy) {
    fail("used element names no request", id);
    return;
  }
  struct slot* s = &slots[i];
  s->busy = 0;
  w.in_flight--;
  barrier();
  if (s->status != 0) {
    fail(s->flush ? "flush status" : "write status", s->seq);
    return;
  }
  if (s->flush) {
    print_run();
    puts_("DISKW-FLUSHED ");
    putu(s->seq);
    putc_('\n');
    return;
  }
  mark_done(s->seq);
  ack(s->seq);
  if (++w.since_flush >= w.flush_every) {
    w.since_flush = 0;
    w.flush_due = 1;
  }
}

void diskw_poll(void) {
  if (!w.on || w.dead)
    return;
  uint32_t id;
  while (!w.dead && vq_take(&id))
    complete(id);
  print_run();
  if (w.dead)
    return;
  uint64_t now = rdtsc(), limit = tsc_per_ms() * TIMEOUT_MS;
  int queued = 0;
  for (uint32_t i = 0; i < w.depth; i++) {
    struct slot* s = &slots[i];
    if (s->busy) {
      if (now - s->since > limit) {
        fail(s->flush ? "flush timeout" : "write timeout", s->seq);
        return;
      }
      continue;
    }
    if (w.flush_due) {
      w.flush_due = 0;
      submit(i, 1);
      queued = 1;
    } else if (w.budget) {
      w.budget--;
      submit(i, 0);
      queued = 1;
    }
  }
  if (queued)
    vq_kick();
}
