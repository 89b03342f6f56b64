// What ncnn layer translators share: the blobs seen so far (each a graph value with its size and
// channel count relative to the input), the graph being built, the layer being translated with
// its parameters, its weights, and errors that name the file, the line and the layer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "models/formats/ncnn/param.hpp"
#include "models/formats/ncnn/weights.hpp"

namespace hires::models::ncnn {

constexpr int kAuto = -233;  // ncnn's "derive it" marker
constexpr int kSameLower = -234;
constexpr long long kHugeEnd = 1LL << 30;  // slice ends at or beyond this mean "to the end"
constexpr int kMaxChannels = 1 << 16;
constexpr int kMaxFactor = 64;       // kernels, strides, shuffle and resize factors
constexpr int kMaxBorder = 1 << 16;  // padding and cropping
constexpr std::int64_t kMaxScale = 1 << 16;
// Channel counts and scales beyond this are refused (they would overflow later arithmetic).
constexpr std::int64_t kMaxRatioPart = std::int64_t{1} << 40;

std::int64_t floor_div(std::int64_t a, std::int64_t b);  // b > 0

// A non-negative rational number, kept reduced.
struct Ratio {
  std::int64_t num = 1;
  std::int64_t den = 1;
};

// Thrown by Ratio arithmetic that overflows; the reader turns it into an error naming the layer.
struct RatioOverflow {};

Ratio make_ratio(std::int64_t num, std::int64_t den);
Ratio operator*(Ratio a, Ratio b);
Ratio operator+(Ratio a, Ratio b);
bool operator==(Ratio a, Ratio b);
std::string ratio_text(Ratio r);

// What is known about a blob: its value id, its size as scale * N + offset (N = the input's side;
// offsets per axis), and its channel count as coef * C + extra (C = the input's channel count,
// found at the first convolution that reads a blob depending on it).
struct Blob {
  int value = 0;
  Ratio scale{1, 1};
  std::int64_t off_h = 0;
  std::int64_t off_w = 0;
  bool pooled = false;  // [C,1,1] after global pooling (a 1-D blob in ncnn)
  Ratio ch_coef{1, 1};
  Ratio ch_extra{0, 1};
};

bool same_size(const Blob& a, const Blob& b);
std::string size_text(const Blob& b);

class Context {
 public:
  Context(std::filesystem::path param, WeightReader& weights);

  // ---- errors ----
  [[noreturn]] void layer_error(const std::string& problem, const std::string& hint = {}) const;
  [[noreturn]] void model_error(const std::string& problem) const;

  // ---- the layer being translated and its parameters ----
  const Layer& layer() const { return *layer_; }
  void set_layer(const Layer* layer) { layer_ = layer; }
  bool has(int id) const;
  double scalar(int id, double def) const;
  int get_int(int id, int def) const;
  float get_float(int id, float def) const;
  std::vector<double> get_array(int id) const;

  // ---- blobs and nodes ----
  void expect_counts(std::size_t bottoms, std::size_t tops) const;
  const Blob& bottom(std::size_t i) const;
  void set_top(std::size_t i, const Blob& b);
  int emit(engine::Node n);
  engine::Node node(engine::OpType t, std::vector<int> inputs,
                    const std::string& suffix = {}) const;
  // The blob's channel count when it can be told (it depends on the input's only through
  // in_channels once that is known); throws when it is not a whole number.
  std::optional<std::int64_t> channels(const Blob& b) const;
  void require_not_pooled(const Blob& b) const;
  // A convolution reading `b` has `in` input channels: checks it, or learns the input's channel
  // count from it.
  void match_channels(const Blob& b, std::int64_t in);
  // Every blob's scale passes here: keeps the arithmetic small and records the input size
  // multiple that makes every strided size whole.
  void note_scale(Ratio s);

  // ---- the layer's weights ----
  std::vector<float> read_tagged(std::size_t count, std::size_t trailing);
  std::vector<float> read_raw(std::size_t count);

  // ---- what the translation has built and learnt ----
  engine::Graph graph;
  std::map<std::string, Blob> blobs;
  bool seen_input = false;
  int declared_channels = 0;
  std::optional<std::int64_t> in_channels;
  int size_multiple = 1;
  int deconvolutions = 0;

 private:
  std::filesystem::path param_path_;
  WeightReader& weights_;
  const Layer* layer_ = nullptr;
};

}  // namespace hires::models::ncnn
