// Fuzzes image decoding with hires' loader policy, as `hires check` reads a file: header, limits,
// EXIF orientation, decode, then the measures. Bounded to 4 megapixels so a fuzzed header cannot
// ask for gigabytes.
#include "fuzz_support.hpp"
#include "hires/guide.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  hires::Limits limits;
  limits.max_input_pixels = 1 << 22;
  hires::fuzz::expect_answer_or_error(
      [&] { (void)hires::check_file(hires::fuzz::write("image", bytes), {}, limits); });
  return 0;
}
