// Shared by the attention shaders: one invocation computes up to CHUNK output channels of one
// head at one query pixel, with an online softmax over the keys (the running maximum rescales
// what was summed before it: no score array), so windows of any size and heads of any width run.
// Flat index: pixel fastest, then the head's chunk of channels, then the head.
#define CHUNK 32

float att_top = -3.0e38;
float att_total = 0.0;
float att_acc[CHUNK];

void att_begin() {
  for (int d = 0; d < CHUNK; ++d) att_acc[d] = 0.0;
}

// Takes a key with logit s into the softmax; returns its weight for the values (att_add).
float att_key(float s) {
  if (s > att_top) {
    const float r = exp(att_top - s);
    att_total *= r;
    for (int d = 0; d < CHUNK; ++d) att_acc[d] *= r;
    att_top = s;
  }
  const float e = exp(s - att_top);
  att_total += e;
  return e;
}

// The invocation's (pixel, head, first channel of the chunk, channels in it) of `plane` pixels
// and heads of `hd` channels; false past the end.
bool att_task(uint i, int plane, int heads, int hd, out int pix, out int head, out int d0,
              out int dn) {
  const int chunks = (hd + CHUNK - 1) / CHUNK;
  if (i >= uint(plane) * uint(heads * chunks)) return false;
  pix = int(i % uint(plane));
  const int hc = int(i / uint(plane));
  head = hc / chunks;
  d0 = (hc % chunks) * CHUNK;
  dn = min(CHUNK, hd - d0);
  return true;
}

// Swin's shift mask: the region (0, 1, 2) of rolled coordinate r along a side of `len` pixels.
int shift_region(int r, int len, int window, int shift) {
  if (shift == 0 || r < len - window) return 0;
  return r < len - shift ? 1 : 2;
}
