// bench_make_clip OUT W H FRAMES: a clip of a moving square over gradients (H.264, 24 fps, an
// AAC track) for bench/video.sh.
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "video/clips.hpp"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: bench_make_clip OUT W H FRAMES\n");
    return 2;
  }
  hires::test::ClipSpec spec;
  spec.width = std::atoi(argv[2]);
  spec.height = std::atoi(argv[3]);
  spec.frames = std::atoi(argv[4]);
  spec.audio_tracks = 1;
  try {
    hires::test::make_clip(argv[1], spec);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_make_clip: %s\n", e.what());
    return 1;
  }
  return 0;
}
