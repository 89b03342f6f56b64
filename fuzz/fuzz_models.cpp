// Fuzzes the model readers through the public loader: .safetensors (JSON header, tensors,
// architecture detection), PyTorch .pth (zip + restricted unpickler), and ncnn (.param text +
// .bin weights), then lists them from their headers as `hires models` does. The first byte picks
// the format; for ncnn the next two give the .param's length.
#include "fuzz_support.hpp"
#include "hires/models.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const char kind = static_cast<char>(data[0] % 3);
  const std::string_view rest = all.substr(1);
  hires::fuzz::expect_answer_or_error([&] {
    if (kind == 0) {
      (void)hires::load_model(hires::fuzz::write("m.safetensors", rest).string(), {});
    } else if (kind == 1) {
      (void)hires::load_model(hires::fuzz::write("m.pth", rest).string(), {});
    } else {
      if (rest.size() < 2) return;
      const std::size_t n =
          (static_cast<unsigned char>(rest[0]) << 8) | static_cast<unsigned char>(rest[1]);
      const std::string_view body = rest.substr(2);
      const std::string_view param = body.substr(0, std::min(n, body.size()));
      const std::string_view bin = body.substr(param.size());
      hires::fuzz::write("m.bin", bin);
      (void)hires::load_model(hires::fuzz::write("m.param", param).string(), {});
    }
  });
  // The same files through the header readers `hires models` uses (no weights read); they
  // refuse what they cannot read, which list_models leaves out.
  hires::fuzz::expect_answer_or_error([] { (void)hires::list_models({hires::fuzz::scratch()}); });
  return 0;
}
