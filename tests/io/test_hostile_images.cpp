// A hostile-input corpus made here (issue 17): every image format hires reads, cut short at many
// places and with bytes flipped, given to the library as a user would. Each file either upscales
// to the planned size or fails with one clear line naming it; never a crash, never a file left.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "hires/error.hpp"
#include "hires/hires.hpp"
#include "support/test_support.hpp"

namespace hires {
namespace {

using test::pattern_image;
using test::TempDir;
namespace fs = std::filesystem;

struct Outcome {
  int upscaled = 0;
  int refused = 0;
};

Outcome try_one(const fs::path& in, const fs::path& out) {
  UpscaleOptions o;
  o.size = SizeRequest::by_scale(2);
  o.method = Method::bilinear;
  o.overwrite = true;
  Outcome r;
  try {
    const FileResult f = upscale_file(in, out, o, {});
    EXPECT_EQ(f.out_size.width, f.in_size.width * 2) << in;
    ++r.upscaled;
  } catch (const Error& e) {
    const std::string text = e.what();
    EXPECT_EQ(text.rfind(in.string() + ": ", 0), 0U) << text;
    EXPECT_EQ(text.find('\n'), std::string::npos) << text;
    EXPECT_EQ(e.kind(), ErrorKind::input) << text;
    ++r.refused;
  }
  return r;
}

TEST(HostileImages, CutAndFlippedFilesFailCleanlyNamingTheFile) {
  TempDir dir;
  test::init_vips();
  const vips::VImage rgb = pattern_image(48, 40, 3, false);
  const vips::VImage rgba = pattern_image(48, 40, 4, false);
  struct Source {
    const char* name;
    vips::VImage image;
  };
  for (const Source& s : {Source{"a.png", rgba}, Source{"a.jpg", rgb}, Source{"a.webp", rgb},
                          Source{"a.tif", rgba}, Source{"a.gif", rgb}}) {
    const fs::path whole = dir / s.name;
    const_cast<vips::VImage&>(s.image).write_to_file(whole.c_str());
    const std::string bytes = test::read_file(whole);
    ASSERT_GT(bytes.size(), 64U) << s.name;
    std::mt19937 rng(1234);
    Outcome total;
    const fs::path bad = dir / (std::string("bad-") + s.name);
    const fs::path out = dir / "out.png";
    // Cut short at 24 places, from the first bytes to the last.
    for (int k = 1; k <= 24; ++k) {
      std::ofstream(bad, std::ios::binary) << bytes.substr(0, bytes.size() * k / 25);
      const Outcome o = try_one(bad, out);
      total.upscaled += o.upscaled;
      total.refused += o.refused;
    }
    // 24 copies with 1 to 8 bytes set to random values, anywhere.
    for (int k = 0; k < 24; ++k) {
      std::string flipped = bytes;
      const int n = 1 + static_cast<int>(rng() % 8);
      for (int i = 0; i < n; ++i) {
        flipped[rng() % flipped.size()] = static_cast<char>(rng() & 0xff);
      }
      std::ofstream(bad, std::ios::binary) << flipped;
      const Outcome o = try_one(bad, out);
      total.upscaled += o.upscaled;
      total.refused += o.refused;
    }
    EXPECT_EQ(total.upscaled + total.refused, 48) << s.name;
    EXPECT_GE(total.refused, 20) << s.name << ": most cut files must be refused";
    for (const auto& entry : fs::directory_iterator(dir.path())) {
      EXPECT_EQ(entry.path().filename().string().find(".hires-"), std::string::npos)
          << entry.path();
    }
  }
}

}  // namespace
}  // namespace hires
