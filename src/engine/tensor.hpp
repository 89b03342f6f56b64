// A dense float tensor in planar CHW layout (batch 1): the data type every op and backend trades.
#pragma once

#include <cstddef>
#include <vector>

namespace hires::engine {

struct Tensor {
  int c = 0;
  int h = 0;
  int w = 0;
  std::vector<float> data;

  Tensor() = default;
  Tensor(int channels, int height, int width)
      : c(channels),
        h(height),
        w(width),
        data(static_cast<std::size_t>(channels) * height * width) {}

  std::size_t plane() const { return static_cast<std::size_t>(h) * w; }
  std::size_t size() const { return data.size(); }
  float* channel(int ch) { return data.data() + plane() * ch; }
  const float* channel(int ch) const { return data.data() + plane() * ch; }
  float& at(int ch, int y, int x) {
    return data[plane() * ch + static_cast<std::size_t>(y) * w + x];
  }
  float at(int ch, int y, int x) const {
    return data[plane() * ch + static_cast<std::size_t>(y) * w + x];
  }
};

}  // namespace hires::engine
