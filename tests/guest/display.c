/* Bochs display (PCI 1234:1111): 1024x768x32 via the dispi ports, a text
 * console drawn with the build-time console font, and an animated region.
 * Frame buffer writes are kept few: under QEMU on a PVM host every write to
 * the linear frame buffer traps (~23 us each), so the mode set clears the
 * screen (no NOCLEARMEM bit), glyphs draw only their set pixels, the console
 * wraps to the top instead of scrolling and the animation is 64x32 pixels. */
#include "probe.h"
#include "probe_font.h"

#define DISPI_INDEX 0x1ce
#define DISPI_DATA 0x1cf
enum {
  ID = 0,
  XRES,
  YRES,
  BPP,
  ENABLE,
  BANK,
  VIRT_WIDTH,
  VIRT_HEIGHT,
  X_OFFSET,
  Y_OFFSET
};
#define WIDTH 1024
#define HEIGHT 768
#define CONSOLE_ROWS 36 /* text rows; the animation sits below them */
#define COLS (WIDTH / 8)
#define FG 0x00d0d0d0u
#define BG 0x00000000u /* what the mode set cleared to */

static volatile uint32_t* fb;
static uint32_t col, row;

static void dispi(uint16_t index, uint16_t value) {
  outw(DISPI_INDEX, index);
  outw(DISPI_DATA, value);
}
static uint16_t dispi_read(uint16_t index) {
  outw(DISPI_INDEX, index);
  return inw(DISPI_DATA);
}

static void fill(uint32_t x, uint32_t y, uint32_t w, uint32_t h,
                 uint32_t color) {
  for (uint32_t j = y; j < y + h; j++)
    for (uint32_t i = x; i < x + w; i++)
      fb[j * WIDTH + i] = color;
}

int display_init(void) {
  struct pci_dev d;
  if (!pci_find(0x1234, 0x1111, &d))
    return 0;
  uint32_t size = 0, lfb = pci_mem_bar(&d, 0, &size);
  uint16_t id = dispi_read(ID);
  if (!lfb || id < 0xb0c0 || id > 0xb0c5 || size < WIDTH * HEIGHT * 4) {
    puts_("DISPLAY-FAIL id=");
    putx(id, 4);
    puts_(" lfb=");
    putx(lfb, 8);
    putc_('\n');
    return 0;
  }
  dispi(ENABLE, 0);
  dispi(XRES, WIDTH);
  dispi(YRES, HEIGHT);
  dispi(BPP, 32);
  dispi(ENABLE, 0x41); /* enabled | linear frame buffer */
  fb = (volatile uint32_t*)lfb;
  puts_("DISPLAY-OK 1024x768x32 lfb=0x");
  putx(lfb, 8);
  puts_(" id=0x");
  putx(id, 4);
  putc_('\n');
  return 1;
}

/* Draws glyph c into a blank cell (set pixels only). */
static void glyph(uint32_t cx, uint32_t cy, uint8_t c) {
  const unsigned char* g = probe_font[c];
  for (uint32_t y = 0; y < PROBE_FONT_HEIGHT; y++) {
    volatile uint32_t* p = fb + (cy * PROBE_FONT_HEIGHT + y) * WIDTH + cx * 8;
    for (uint32_t x = 0; x < 8; x++)
      if (g[y] & (0x80 >> x))
        p[x] = FG;
  }
}

static uint8_t line_len[CONSOLE_ROWS];

/* Blanks the used part of a text row. */
static void clear_row(uint32_t r) {
  fill(0, r * PROBE_FONT_HEIGHT, line_len[r] * 8u, PROBE_FONT_HEIGHT, BG);
  line_len[r] = 0;
}

static void newline(void) {
  col = 0;
  if (++row == CONSOLE_ROWS)
    row = 0; /* wrap: no scrolling (see top) */
  clear_row(row);
}

void display_putc(char c) {
  if (!fb)
    return;
  if (c == '\n' || c == '\r') {
    newline();
    return;
  }
  if (c == '\b') {
    if (col) {
      col--;
      fill(col * 8, row * PROBE_FONT_HEIGHT, 8, PROBE_FONT_HEIGHT, BG);
    }
    return;
  }
  glyph(col, row, (uint8_t)c);
  if (++col > line_len[row])
    line_len[row] = (uint8_t)col;
  if (col == COLS)
    newline();
}

void display_puts(const char* s) {
  while (*s)
    display_putc(*s++);
}

/* A 64x32 band of moving colour bars in the bottom right corner. */
void display_anim_frame(uint32_t frame) {
  if (!fb)
    return;
  const uint32_t x0 = WIDTH - 64, y0 = HEIGHT - 32;
  for (uint32_t y = 0; y < 32; y++)
    for (uint32_t x = 0; x < 64; x++) {
      uint32_t v = (x + frame * 4) & 0xff, w = (y + frame * 2) & 0xff;
      fb[(y0 + y) * WIDTH + x0 + x] = (v << 16) | (w << 8) | ((v ^ w) & 0xff);
    }
}
