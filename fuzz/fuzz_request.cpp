// Fuzzes the web app's request handling without a socket: a request body as the page sends it
// (JSON with "options"), read by the same code as POST /api/plan and /api/run (the option table's
// parsers, sizes checked against an image's facts), and the client's file name as the upload
// route keeps it (safe_name). A hires::Error is the server's 400 answer; anything else is a
// finding, as is a kept name with a path separator or a control character.
#include <nlohmann/json.hpp>

#include "api.hpp"
#include "fuzz_support.hpp"
#include "store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::string name = hires::server::safe_name(bytes.substr(0, 300));
  for (char c : name) {
    if (c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20) std::abort();
  }
  const nlohmann::json body = nlohmann::json::parse(bytes, nullptr, false);
  if (body.is_discarded()) return 0;  // the server answers 400 "not JSON" before this point
  static hires::server::StoredImage image;
  image.name = "photo.jpg";
  image.path = hires::fuzz::scratch() / "photo.jpg";
  image.facts.size = {640, 480};
  hires::server::ServeOptions serve;
  serve.limits.max_output_pixels = 1 << 26;
  hires::fuzz::expect_answer_or_error(
      [&] { (void)hires::server::parse_options(body, image, serve); });
  return 0;
}
