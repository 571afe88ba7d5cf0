/* i8042 keyboard by polling (ports 0x60/0x64), scan code set 1 (the
 * controller translates set 2 by default), echoed on serial and screen. */
#include "probe.h"

static const char plain[0x3a] = {
    0,   0x1b, '1',  '2',  '3',  '4', '5', '6',  '7', '8', '9', '0',
    '-', '=',  '\b', '\t', 'q',  'w', 'e', 'r',  't', 'y', 'u', 'i',
    'o', 'p',  '[',  ']',  '\n', 0,   'a', 's',  'd', 'f', 'g', 'h',
    'j', 'k',  'l',  ';',  '\'', '`', 0,   '\\', 'z', 'x', 'c', 'v',
    'b', 'n',  'm',  ',',  '.',  '/', 0,   '*',  0,   ' '};
static const char shifted[0x3a] = {
    0,   0x1b, '!',  '@',  '#',  '$', '%', '^', '&', '*', '(', ')',
    '_', '+',  '\b', '\t', 'Q',  'W', 'E', 'R', 'T', 'Y', 'U', 'I',
    'O', 'P',  '{',  '}',  '\n', 0,   'A', 'S', 'D', 'F', 'G', 'H',
    'J', 'K',  'L',  ':',  '"',  '~', 0,   '|', 'Z', 'X', 'C', 'V',
    'B', 'N',  'M',  '<',  '>',  '?', 0,   '*', 0,   ' '};

static int shift, extended;

void keyboard_init(void) {
  /* Drain whatever the controller holds (firmware leftovers). */
  for (int i = 0; i < 32 && (inb(0x64) & 1); i++)
    (void)inb(0x60);
}

static void report(uint8_t sc) {
  char c = (!extended && sc < sizeof plain) ? (shift ? shifted : plain)[sc] : 0;
  puts_("KEY ");
  if (c > 0x20 && c < 0x7f) {
    putc_(c);
  } else if (c) {
    puts_("0x");
    putx((uint8_t)c, 2);
  } else {
    puts_("sc=0x");
    if (extended)
      puts_("e0");
    putx(sc, 2);
  }
  putc_('\n');
  if (c)
    display_putc(c);
}

static void handle(uint8_t sc) {
  if (sc == 0xe0) {
    extended = 1;
    return;
  }
  uint8_t code = sc & 0x7f;
  int release = sc & 0x80;
  if (!extended && (code == 0x2a || code == 0x36))
    shift = !release;
  else if (!release)
    report(code);
  extended = 0;
}

void keyboard_poll(void) {
  for (int i = 0; i < 16; i++) {
    uint8_t st = inb(0x64);
    if (st == 0xff || !(st & 1))
      return; /* no controller, or nothing queued */
    uint8_t b = inb(0x60);
    if (st & 0x20)
      continue; /* aux (mouse) byte */
    handle(b);
  }
}
