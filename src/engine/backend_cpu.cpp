// The cpu backend: 3x3 stride-1 convolutions through our Winograd F(4x4,3x3) code (winograd.hpp)
// with bias and ReLU/LeakyReLU/PReLU folded into its output transform; other convolutions as
// oneDNN direct convolutions with ReLU/LeakyReLU fused as post-ops, PReLU as our own kernel on
// oneDNN's blocked layout; transposed convolutions as oneDNN deconvolutions (activation fused);
// SiLU/GELU/sigmoid/scale-shift as oneDNN eltwise and same-shape add/mul as oneDNN binary
// primitives on whatever layout their input has (SiLU/GELU also fused into oneDNN convolutions);
// other (cheap) ops through the reference code on plain NCHW.
// Activations stay in the layout the convolution chose between layers (nChw8c for Winograd).
// HIRES_NO_WINOGRAD=1 turns the Winograd path off (oneDNN only); HIRES_NO_SIMD=1 makes it use its
// portable kernel, HIRES_NO_AVX512=1 at most its AVX2/FMA one (see winograd.hpp).
#include <fmt/format.h>
#include <omp.h>
#include <algorithm>
#include <dnnl.hpp>
#include <list>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/attention_cpu.hpp"
#include "engine/backend.hpp"
#include "engine/ops_reference.hpp"
#include "engine/winograd.hpp"
#include "hires/error.hpp"

namespace hires::engine {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct EltwiseParams {
  dnnl::algorithm algorithm = dnnl::algorithm::undef;
  float alpha = 0.0F;
  float beta = 0.0F;
};

// The oneDNN eltwise algorithm for an elementwise node, or undef when it is none.
dnnl::algorithm eltwise_algorithm(OpType t) {
  switch (t) {
    case OpType::relu:
    case OpType::leaky_relu:
      return dnnl::algorithm::eltwise_relu;
    case OpType::sigmoid:
      return dnnl::algorithm::eltwise_logistic;
    case OpType::silu:
      return dnnl::algorithm::eltwise_swish;
    case OpType::gelu:
      return dnnl::algorithm::eltwise_gelu_erf;
    case OpType::mish:
      return dnnl::algorithm::eltwise_mish;
    case OpType::scale_shift:
      return dnnl::algorithm::eltwise_linear;
    default:
      return dnnl::algorithm::undef;
  }
}

EltwiseParams eltwise_params(const Node& n) {
  EltwiseParams e;
  e.algorithm = eltwise_algorithm(n.type);
  if (n.type == OpType::leaky_relu) e.alpha = n.alpha;
  if (n.type == OpType::silu) e.alpha = 1.0F;  // swish: x * sigmoid(alpha x)
  if (n.type == OpType::scale_shift) {
    e.alpha = n.scale;
    e.beta = n.shift;
  }
  return e;
}

// Activations a oneDNN convolution applies as a post-op.
bool fusable_post_op(OpType t) {
  return t == OpType::relu || t == OpType::leaky_relu || t == OpType::silu || t == OpType::gelu ||
         t == OpType::mish;
}

// A value during a run: oneDNN memory, plus the tensor that owns its buffer when it is plain.
struct Value {
  memory mem;
  std::shared_ptr<Tensor> owner;
  int c = 0, h = 0, w = 0;
};

struct ConvPlan {
  dnnl::convolution_forward prim;
  dnnl::deconvolution_forward dprim;  // deconv2d nodes
  memory::desc src_md;
  memory::desc dst_md;
  memory::desc scratch_md;  // the primitive's scratchpad, allocated per call (none is kept)
  memory weights;
  memory bias;
  std::string impl;
};

// PReLU over `n` pixels of one channel block of B channels (pixel stride ws), slopes a[B]. B is a
// constant so the compiler vectorises the inner loop.
template <int B>
void prelu_block_row(float* row, dnnl_dim_t n, dnnl_dim_t ws, const float* a) {
  for (dnnl_dim_t x = 0; x < n; ++x) {
    float* v = row + x * ws;
    for (int i = 0; i < B; ++i) v[i] = std::max(v[i], 0.0F) + std::min(v[i], 0.0F) * a[i];
  }
}

// Applies PReLU in place on any layout with at most one inner block, on the channel dimension.
void prelu_inplace(memory& m, const std::vector<float>& slopes, int channels) {
  const dnnl_memory_desc_t& d = m.get_desc().data;
  const auto& blk = d.format_desc.blocking;
  auto* p = static_cast<float*>(m.get_data_handle());
  const dnnl_dim_t H = d.dims[2];
  const dnnl_dim_t W = d.dims[3];
  auto slope = [&](dnnl_dim_t c) { return slopes.size() == 1 ? slopes[0] : slopes[c]; };
  if (blk.inner_nblks == 1 && blk.inner_idxs[0] == 1) {
    const dnnl_dim_t B = blk.inner_blks[0];
    const dnnl_dim_t nb = (d.padded_dims[1] + B - 1) / B;
    const dnnl_dim_t cs = blk.strides[1];
    const dnnl_dim_t hs = blk.strides[2];
    const dnnl_dim_t ws = blk.strides[3];
#pragma omp parallel for collapse(2)
    for (dnnl_dim_t cb = 0; cb < nb; ++cb) {
      for (dnnl_dim_t y = 0; y < H; ++y) {
        float a[64];
        for (dnnl_dim_t i = 0; i < B; ++i) {
          const dnnl_dim_t c = cb * B + i;
          a[i] = c < channels ? slope(c) : 0.0F;
        }
        float* row = p + cb * cs + y * hs;
        if (B == 16) {
          prelu_block_row<16>(row, W, ws, a);
        } else if (B == 8) {
          prelu_block_row<8>(row, W, ws, a);
        } else {
          for (dnnl_dim_t x = 0; x < W; ++x) {
            float* v = row + x * ws;
            for (dnnl_dim_t i = 0; i < B; ++i) v[i] = v[i] > 0.0F ? v[i] : v[i] * a[i];
          }
        }
      }
    }
    return;
  }
  if (blk.inner_nblks == 0 && blk.strides[1] == 1) {
    // Channels innermost (nhwc): one pass over the pixels, slopes along each pixel.
    const dnnl_dim_t hs = blk.strides[2];
    const dnnl_dim_t ws = blk.strides[3];
    std::vector<float> slopes_c(static_cast<std::size_t>(channels));
    for (int c = 0; c < channels; ++c) slopes_c[c] = slope(c);
    const float* a = slopes_c.data();
#pragma omp parallel for
    for (dnnl_dim_t y = 0; y < H; ++y) {
      for (dnnl_dim_t x = 0; x < W; ++x) {
        float* v = p + y * hs + x * ws;
        // Branch-free (vectorises): max(v,0) + min(v,0)*a equals v > 0 ? v : v*a.
        for (int c = 0; c < channels; ++c) {
          v[c] = std::max(v[c], 0.0F) + std::min(v[c], 0.0F) * a[c];
        }
      }
    }
    return;
  }
  if (blk.inner_nblks == 0) {
    const dnnl_dim_t cs = blk.strides[1];
    const dnnl_dim_t hs = blk.strides[2];
    const dnnl_dim_t ws = blk.strides[3];
#pragma omp parallel for collapse(2)
    for (dnnl_dim_t c = 0; c < channels; ++c) {
      for (dnnl_dim_t y = 0; y < H; ++y) {
        const float a = slope(c);
        float* row = p + c * cs + y * hs;
        for (dnnl_dim_t x = 0; x < W; ++x) {
          float& v = row[x * ws];
          v = v > 0.0F ? v : v * a;
        }
      }
    }
    return;
  }
  throw Error(ErrorKind::internal, "cpu backend", "prelu: unexpected memory layout");
}

class CpuBackend final : public Backend {
 public:
  CpuBackend(const Graph& g, const BackendOptions& o)
      : g_(g),
        eng_(dnnl::engine::kind::cpu, 0),
        strm_(eng_),
        frees_(last_uses(g)),
        wino_kernel_(winograd::default_kernel()) {
    set_threads(o.threads);
    // Fuse conv -> activation when the activation is the conv output's only reader: relu/leaky
    // into oneDNN convolutions, relu/leaky/prelu into Winograd ones (weights transformed here).
    std::vector<int> readers(static_cast<std::size_t>(g.num_values), 0);
    for (const Node& n : g.nodes)
      for (int v : n.inputs) ++readers[v];
    const bool use_winograd = !winograd::disabled_by_env();
    fused_into_prev_.assign(g.nodes.size(), false);
    wino_.resize(g.nodes.size());
    wino_valid_.assign(g.nodes.size(), false);
    attention_.resize(g.nodes.size());
    for (std::size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& a = g.nodes[i];
      if (a.type == OpType::window_attention || a.type == OpType::overlap_attention ||
          a.type == OpType::permuted_attention) {
        attention_[i] = std::make_unique<cpu::WindowAttention>(a);
      }
      if (a.type != OpType::conv2d && a.type != OpType::deconv2d) continue;
      const Node* b = i + 1 < g.nodes.size() ? &g.nodes[i + 1] : nullptr;
      const bool sole_reader = b != nullptr && b->inputs.size() == 1 && b->inputs[0] == a.output &&
                               readers[a.output] == 1 && a.output != g.output;
      // An unpadded ("valid") 3x3 convolution is the padded one without its 1-pixel border:
      // Winograd runs it padded and the border is cut off (waifu2x, Real-CUGAN).
      Node padded = a;
      if (a.type == OpType::conv2d && a.padding == 0 && a.kernel == 3) padded.padding = 1;
      if (a.type == OpType::conv2d && use_winograd && winograd::eligible(padded)) {
        const bool fuse = sole_reader && winograd::can_fuse(a, *b);
        wino_[i] = std::make_unique<winograd::Conv3x3>(padded, fuse ? b : nullptr);
        wino_valid_[i] = a.padding == 0;
        if (fuse) fused_into_prev_[i + 1] = true;
      } else if (sole_reader && fusable_post_op(b->type)) {
        fused_into_prev_[i + 1] = true;
      }
    }
  }

  std::string_view name() const override { return "cpu"; }
  // What ran in the last run: "cpu: oneDNN convolution <impl>[ + winograd F(4,3) <kernel> (<n>
  // convs)]", or "cpu: winograd F(4,3) <kernel> (<n> convs)" when every 3x3 conv was Winograd.
  std::string describe() const override {
    const std::string wino = fmt::format("winograd F(4,3) {} ({} convs)",
                                         winograd::kernel_name(wino_kernel_), wino_runs_);
    if (impl_.empty()) return wino_runs_ > 0 ? "cpu: " + wino : "cpu: oneDNN";
    return "cpu: oneDNN convolution " + impl_ + (wino_runs_ > 0 ? " + " + wino : "");
  }

  void set_threads(int threads) override { threads_ = threads; }

  Tensor run(const Tensor& input) override {
    // OpenMP's thread count belongs to the calling thread: set for whichever thread runs this
    // (libvips hands tiles to several), not once where the backend was made.
    if (threads_ > 0 && omp_get_max_threads() != threads_) omp_set_num_threads(threads_);
    std::vector<Value> values(static_cast<std::size_t>(g_.num_values));
    values[g_.input] = wrap(std::make_shared<Tensor>(input));
    auto& plans = plans_for({input.h, input.w});
    last_means_.clear();
    plans.resize(g_.nodes.size());
    int wino_runs = 0;
    for (std::size_t i = 0; i < g_.nodes.size(); ++i) {
      if (fused_into_prev_[i]) continue;
      const Node& n = g_.nodes[i];
      int out_id = n.output;
      const Node* act = nullptr;
      if (i + 1 < g_.nodes.size() && fused_into_prev_[i + 1]) {
        act = &g_.nodes[i + 1];
        out_id = act->output;
      }
      Value out;
      if (n.type == OpType::conv2d && wino_[i]) {
        out = winograd_conv(*wino_[i], values[n.inputs[0]]);
        if (wino_valid_[i]) out = crop_border(out);
        ++wino_runs;
      } else if (n.type == OpType::conv2d || n.type == OpType::deconv2d) {
        out = conv(n, act, values[n.inputs[0]], plans[i]);
      } else if (eltwise_algorithm(n.type) != dnnl::algorithm::undef) {
        out = eltwise(n, values[n.inputs[0]], is_last_use(i, n.inputs[0]));
      } else if ((n.type == OpType::add || n.type == OpType::mul) &&
                 same_dims(values[n.inputs[0]], values[n.inputs[1]])) {
        out = binary(n, values[n.inputs[0]], values[n.inputs[1]],
                     is_last_use(i, n.inputs[0]) && n.inputs[0] != n.inputs[1]);
      } else if (n.type == OpType::window_attention || n.type == OpType::overlap_attention ||
                 n.type == OpType::permuted_attention) {
        out = wrap(std::make_shared<Tensor>(attention_[i]->run(*to_plain(values[n.inputs[0]]))));
      } else if (n.type == OpType::slice_channels) {
        out = slice(n, values[n.inputs[0]]);
      } else if (n.type == OpType::concat && same_extent(n, values)) {
        out = concat(n, values);
      } else if (n.type == OpType::layer_norm) {
        out = wrap(std::make_shared<Tensor>(cpu::layer_norm(*to_plain(values[n.inputs[0]]), n)));
      } else if (n.type == OpType::token_attention) {
        out = wrap(std::make_shared<Tensor>(cpu::token_attention(
            *to_plain(values[n.inputs[0]]), *to_plain(values[n.inputs[1]]), n)));
      } else if (n.type == OpType::channel_attention) {
        out = wrap(std::make_shared<Tensor>(cpu::channel_attention(
            *to_plain(values[n.inputs[0]]), *to_plain(values[n.inputs[1]]), n)));
      } else if (n.type == OpType::prelu && is_last_use(i, n.inputs[0])) {
        out = std::move(values[n.inputs[0]]);
        prelu_inplace(out.mem, n.slopes, out.c);
      } else {
        std::vector<std::shared_ptr<Tensor>> keep;
        std::vector<const Tensor*> ins;
        for (int v : n.inputs) {
          keep.push_back(to_plain(values[v]));
          ins.push_back(keep.back().get());
        }
        const auto fixed = global_means_.find(n.output);
        if (is_global_statistic(n) && fixed != global_means_.end()) {
          out = wrap(std::make_shared<Tensor>(fixed->second));
        } else if (n.type == OpType::channel_gram) {
          out = wrap(std::make_shared<Tensor>(cpu::channel_gram(*ins[0], n)));
        } else {
          out = wrap(std::make_shared<Tensor>(ref::run_node(n, ins)));
        }
        if (is_global_statistic(n)) last_means_[n.output] = *out.owner;
      }
      for (int v : frees_[i]) values[v] = Value{};
      if (act != nullptr) {
        for (int v : frees_[i + 1]) values[v] = Value{};
      }
      values[out_id] = std::move(out);
    }
    wino_runs_ = wino_runs;
    return *to_plain(values[g_.output]);
  }

 private:
  bool is_last_use(std::size_t node, int value) const {
    for (int v : frees_[node])
      if (v == value) return true;
    return false;
  }

  Value wrap(std::shared_ptr<Tensor> t) {
    Value v;
    v.c = t->c;
    v.h = t->h;
    v.w = t->w;
    memory::desc md({1, t->c, t->h, t->w}, dt::f32, tag::nchw);
    v.mem = memory(md, eng_, t->data.data());
    v.owner = std::move(t);
    return v;
  }

  // The value as a plain NCHW tensor (no copy when it already is one).
  std::shared_ptr<Tensor> to_plain(const Value& v) {
    if (v.owner) return v.owner;
    auto t = std::make_shared<Tensor>(v.c, v.h, v.w);
    memory::desc md({1, v.c, v.h, v.w}, dt::f32, tag::nchw);
    memory dst(md, eng_, t->data.data());
    memory src = v.mem;  // a handle copy: execute() wants non-const
    dnnl::reorder(src, dst).execute(strm_, src, dst);
    strm_.wait();
    return t;
  }

  // Channels [begin, begin + count) of `in` as a plain tensor: a copy of the channel range, or on
  // a blocked layout a reorder of just that part (a sub-memory): the whole input is not
  // converted (MoSR slices each block's 192-channel convolution output three ways).
  Value slice(const Node& n, const Value& in) {
    auto t = std::make_shared<Tensor>(n.count, in.h, in.w);
    if (in.owner) {
      std::copy_n(in.owner->channel(n.begin), t->size(), t->data.data());
      return wrap(std::move(t));
    }
    try {
      const memory::desc sub =
          in.mem.get_desc().submemory_desc({1, n.count, in.h, in.w}, {0, n.begin, 0, 0});
      memory src(sub, eng_, in.mem.get_data_handle());
      memory dst(memory::desc({1, n.count, in.h, in.w}, dt::f32, tag::nchw), eng_, t->data.data());
      dnnl::reorder(src, dst).execute(strm_, src, dst);
      strm_.wait();
    } catch (const dnnl::error&) {  // a range that splits the layout's channel blocks
      const auto plain = to_plain(in);
      std::copy_n(plain->channel(n.begin), t->size(), t->data.data());
    }
    return wrap(std::move(t));
  }

  // Whether all of n's inputs have the first one's height and width.
  static bool same_extent(const Node& n, const std::vector<Value>& values) {
    const Value& first = values[n.inputs[0]];
    return std::all_of(n.inputs.begin(), n.inputs.end(),
                       [&](int v) { return values[v].h == first.h && values[v].w == first.w; });
  }

  // The inputs side by side along the channels, as a plain tensor: oneDNN's concat reads each
  // input in its own layout (no input is converted first).
  Value concat(const Node& n, const std::vector<Value>& values) {
    std::vector<memory::desc> mds;
    std::unordered_map<int, memory> args;
    int channels = 0;
    for (std::size_t k = 0; k < n.inputs.size(); ++k) {
      const Value& v = values[n.inputs[k]];
      mds.push_back(v.mem.get_desc());
      args.insert({DNNL_ARG_MULTIPLE_SRC + static_cast<int>(k), v.mem});
      channels += v.c;
    }
    const Value& first = values[n.inputs[0]];
    auto t = std::make_shared<Tensor>(channels, first.h, first.w);
    const memory::desc dst_md({1, channels, first.h, first.w}, dt::f32, tag::nchw);
    args.insert({DNNL_ARG_DST, memory(dst_md, eng_, t->data.data())});
    dnnl::concat(dnnl::concat::primitive_desc(dst_md, 1, mds, eng_)).execute(strm_, args);
    strm_.wait();
    return wrap(std::move(t));
  }

  // A (leaky) ReLU fused into a convolution as a post-op; no post-op for no activation.
  // Primitives keep no scratchpad of their own: a plan per tile shape is cached, and a
  // deconvolution's scratchpad alone held ~20 MB per shape (335 MB for Real-CUGAN's shapes).
  static dnnl::primitive_attr fused_activation(const Node* act) {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (act != nullptr) {
      const EltwiseParams e = eltwise_params(*act);
      dnnl::post_ops po;
      po.append_eltwise(1.0F, e.algorithm, e.alpha, e.beta);
      attr.set_post_ops(po);
    }
    return attr;
  }

  static bool same_dims(const Value& a, const Value& b) {
    return a.c == b.c && a.h == b.h && a.w == b.w;
  }

  // An elementwise op on the input's own layout, in place when the input is not read again.
  Value eltwise(const Node& n, Value& in, bool last_use) {
    const EltwiseParams e = eltwise_params(n);
    const memory::desc md = in.mem.get_desc();
    dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, e.algorithm, md, e.alpha,
                                  e.beta);
    dnnl::eltwise_forward prim(dnnl::eltwise_forward::primitive_desc(d, eng_));
    const memory src = in.mem;
    Value out;
    if (last_use) {
      out = std::move(in);  // in place
    } else {
      out.c = in.c;
      out.h = in.h;
      out.w = in.w;
      out.mem = memory(md, eng_);
    }
    prim.execute(strm_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, out.mem}});
    strm_.wait();
    return out;
  }

  // a + b or a * b (same shapes) on a's layout; b is reordered to it when it differs.
  Value binary(const Node& n, Value& a, Value& b, bool reuse_a) {
    const memory::desc md = a.mem.get_desc();
    memory src1 = b.mem;
    if (src1.get_desc() != md) {
      memory tmp(md, eng_);
      dnnl::reorder(src1, tmp).execute(strm_, src1, tmp);
      src1 = tmp;
    }
    const auto alg =
        n.type == OpType::add ? dnnl::algorithm::binary_add : dnnl::algorithm::binary_mul;
    dnnl::binary::desc d(alg, md, md, md);
    dnnl::binary prim(dnnl::binary::primitive_desc(d, eng_));
    Value out;
    memory src0 = a.mem;
    if (reuse_a) {
      out = std::move(a);
    } else {
      out.c = a.c;
      out.h = a.h;
      out.w = a.w;
      out.mem = memory(md, eng_);
    }
    prim.execute(strm_, {{DNNL_ARG_SRC_0, src0}, {DNNL_ARG_SRC_1, src1}, {DNNL_ARG_DST, out.mem}});
    strm_.wait();
    return out;
  }

  // Fills `plan` from a (de)convolution's primitive descriptor: its memory descriptors, and the
  // node's weights (laid out as `user_w_md`) reordered into the layout it wants, and the bias.
  template <class PrimitiveDesc>
  void finish_plan(const PrimitiveDesc& pd, const Node& n, const memory::desc& user_w_md,
                   const memory::desc& bia_md, ConvPlan& plan) {
    plan.src_md = pd.src_desc();
    plan.dst_md = pd.dst_desc();
    plan.scratch_md = pd.scratchpad_desc();
    plan.impl = pd.impl_info_str();
    memory user_w(user_w_md, eng_, const_cast<float*>(n.weight.data()));
    plan.weights = memory(pd.weights_desc(), eng_);
    dnnl::reorder(user_w, plan.weights).execute(strm_, user_w, plan.weights);
    if (!n.bias.empty()) {
      plan.bias = memory(bia_md, eng_);
      std::copy(n.bias.begin(), n.bias.end(), static_cast<float*>(plan.bias.get_data_handle()));
    }
    strm_.wait();
  }

  void build_conv(const Node& n, const Node* act, int h, int w, ConvPlan& plan) {
    const int oh = (h + 2 * n.padding - n.kernel) / n.stride + 1;
    const int ow = (w + 2 * n.padding - n.kernel) / n.stride + 1;
    const memory::dims src_dims{1, n.in_channels, h, w};
    const memory::dims dst_dims{1, n.out_channels, oh, ow};
    const bool grouped = n.groups > 1;
    const memory::dims wei_dims =
        grouped ? memory::dims{n.groups, n.out_channels / n.groups, n.in_channels / n.groups,
                               n.kernel, n.kernel}
                : memory::dims{n.out_channels, n.in_channels, n.kernel, n.kernel};
    memory::desc src_md(src_dims, dt::f32, tag::any);
    memory::desc wei_md(wei_dims, dt::f32, tag::any);
    memory::desc dst_md(dst_dims, dt::f32, tag::any);
    memory::desc bia_md({n.out_channels}, dt::f32, tag::x);
    const bool has_bias = !n.bias.empty();
    auto desc =
        has_bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                   dnnl::algorithm::convolution_direct, src_md,
                                                   wei_md, bia_md, dst_md, {n.stride, n.stride},
                                                   {n.padding, n.padding}, {n.padding, n.padding})
                 : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                   dnnl::algorithm::convolution_direct, src_md,
                                                   wei_md, dst_md, {n.stride, n.stride},
                                                   {n.padding, n.padding}, {n.padding, n.padding});
    const dnnl::primitive_attr attr = fused_activation(act);
    dnnl::convolution_forward::primitive_desc pd(desc, attr, eng_);
    plan.prim = dnnl::convolution_forward(pd);
    // Weights: from PyTorch's OIHW (GOIHW) into the layout this convolution wants.
    finish_plan(pd, n, {wei_dims, dt::f32, grouped ? tag::goihw : tag::oihw}, bia_md, plan);
    if (n.kernel == 3 && impl_.empty()) impl_ = plan.impl;
  }

  // A transposed convolution: oneDNN's deconvolution computes PyTorch's ConvTranspose2d (scatter,
  // kernel not flipped) with weights given as [out, in, k, k]; ours are [in, out, k, k] (iohw).
  void build_deconv(const Node& n, const Node* act, int h, int w, ConvPlan& plan) {
    const int oh = (h - 1) * n.stride - 2 * n.padding + n.kernel;
    const int ow = (w - 1) * n.stride - 2 * n.padding + n.kernel;
    const memory::dims wei_dims{n.out_channels, n.in_channels, n.kernel, n.kernel};
    memory::desc src_md({1, n.in_channels, h, w}, dt::f32, tag::any);
    memory::desc wei_md(wei_dims, dt::f32, tag::any);
    memory::desc dst_md({1, n.out_channels, oh, ow}, dt::f32, tag::any);
    memory::desc bia_md({n.out_channels}, dt::f32, tag::x);
    const bool has_bias = !n.bias.empty();
    const memory::dims strides{n.stride, n.stride};
    const memory::dims pad{n.padding, n.padding};
    auto desc =
        has_bias ? dnnl::deconvolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                     dnnl::algorithm::deconvolution_direct, src_md,
                                                     wei_md, bia_md, dst_md, strides, pad, pad)
                 : dnnl::deconvolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                     dnnl::algorithm::deconvolution_direct, src_md,
                                                     wei_md, dst_md, strides, pad, pad);
    const dnnl::primitive_attr attr = fused_activation(act);
    dnnl::deconvolution_forward::primitive_desc pd(desc, attr, eng_);
    plan.dprim = dnnl::deconvolution_forward(pd);
    finish_plan(pd, n, {wei_dims, dt::f32, tag::iohw}, bia_md, plan);
  }

  // A Winograd convolution: reads and writes nChw8c (reordering the input only when it comes
  // from elsewhere, e.g. a oneDNN convolution or a reference op).
  Value winograd_conv(const winograd::Conv3x3& wc, Value& in) {
    const memory::desc want({1, in.c, in.h, in.w}, dt::f32, tag::nChw8c);
    memory src = in.mem;
    if (src.get_desc() != want) {
      memory tmp(want, eng_);
      dnnl::reorder(src, tmp).execute(strm_, src, tmp);
      strm_.wait();
      src = tmp;
    }
    Value out;
    out.c = wc.out_channels();
    out.h = in.h;
    out.w = in.w;
    out.mem = memory(memory::desc({1, out.c, out.h, out.w}, dt::f32, tag::nChw8c), eng_);
    wc.run_blocked(static_cast<const float*>(src.get_data_handle()), in.h, in.w,
                   static_cast<float*>(out.mem.get_data_handle()), wino_kernel_);
    return out;
  }

  // The value without its outer pixel on each side (a reorder from a sub-memory view).
  Value crop_border(const Value& in) {
    if (in.h < 3 || in.w < 3) {
      throw Error(ErrorKind::internal, "cpu backend",
                  fmt::format("unpadded 3x3 convolution on a {}x{} input", in.w, in.h));
    }
    Value out;
    out.c = in.c;
    out.h = in.h - 2;
    out.w = in.w - 2;
    const memory::desc src_md = in.mem.get_desc();
    const memory::desc view = src_md.submemory_desc({1, in.c, out.h, out.w}, {0, 0, 1, 1});
    out.mem = memory(memory::desc({1, out.c, out.h, out.w}, dt::f32, tag::nChw8c), eng_);
    memory src(view, eng_, in.mem.get_data_handle());
    dnnl::reorder(src, out.mem).execute(strm_, src, out.mem);
    strm_.wait();
    return out;
  }

  Value conv(const Node& n, const Node* act, Value& in, ConvPlan& plan) {
    const bool deconv = n.type == OpType::deconv2d;
    if (deconv && !plan.dprim) build_deconv(n, act, in.h, in.w, plan);
    if (!deconv && !plan.prim) build_conv(n, act, in.h, in.w, plan);
    memory src = in.mem;
    if (src.get_desc() != plan.src_md) {
      memory tmp(plan.src_md, eng_);
      dnnl::reorder(src, tmp).execute(strm_, src, tmp);
      src = tmp;
    }
    Value out;
    out.mem = memory(plan.dst_md, eng_);
    const auto dims = plan.dst_md.dims();
    out.c = static_cast<int>(dims[1]);
    out.h = static_cast<int>(dims[2]);
    out.w = static_cast<int>(dims[3]);
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, plan.weights}, {DNNL_ARG_DST, out.mem}};
    if (!n.bias.empty()) args.insert({DNNL_ARG_BIAS, plan.bias});
    if (plan.scratch_md.get_size() > 0) {
      args.insert({DNNL_ARG_SCRATCHPAD, memory(plan.scratch_md, eng_)});
    }
    if (deconv) {
      plan.dprim.execute(strm_, args);
    } else {
      plan.prim.execute(strm_, args);
    }
    strm_.wait();
    return out;
  }

  const Graph& g_;
  int threads_ = 0;  // 0 = all cores
  dnnl::engine eng_;
  dnnl::stream strm_;
  std::vector<std::vector<int>> frees_;
  std::vector<bool> fused_into_prev_;
  std::vector<std::unique_ptr<winograd::Conv3x3>> wino_;  // per node: set where Winograd runs it
  std::vector<bool> wino_valid_;  // per node: an unpadded conv run padded, border to cut off
  std::vector<std::unique_ptr<cpu::WindowAttention>> attention_;  // per window_attention node
  winograd::Kernel wino_kernel_;
  int wino_runs_ = 0;  // Winograd convolutions in the last run
  // Plans per input shape, the most recently used few only: tiles come in at most four shapes
  // (inside, right edge, bottom edge, corner), and each plan holds its weights' copies.
  std::vector<ConvPlan>& plans_for(std::pair<int, int> shape) {
    constexpr std::size_t kShapes = 6;
    shape_order_.remove(shape);
    shape_order_.push_front(shape);
    while (shape_order_.size() > kShapes) {
      plans_.erase(shape_order_.back());
      shape_order_.pop_back();
    }
    return plans_[shape];
  }
  std::map<std::pair<int, int>, std::vector<ConvPlan>> plans_;
  std::list<std::pair<int, int>> shape_order_;
  std::string impl_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const Graph& graph, const BackendOptions& options) {
  try {
    return std::make_unique<CpuBackend>(graph, options);
  } catch (const dnnl::error& e) {
    throw Error(ErrorKind::internal, "oneDNN", e.what());
  }
}

}  // namespace hires::engine
