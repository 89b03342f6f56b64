// Fuzzes video demuxing and decoding as `hires review CLIP CLIP` reads a clip: container probe,
// stream selection, decoder, colour conversion, frame by frame (the first 4 frames of each).
// A hires::Error is an answer; a crash, a sanitizer report, a hang or another exception is a
// finding.
#include "fuzz_support.hpp"
#include "hires/video.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto clip = hires::fuzz::write("clip", bytes);
  hires::fuzz::expect_answer_or_error([&] { (void)hires::review_video(clip, clip, 4); });
  return 0;
}
