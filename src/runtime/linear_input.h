#pragma once
// An optional transform of the inputs of a layer's linear projections, for simulated activation
// quantization and its calibration (experiments/fake_quant.h). The runtime calls it only when one
// is set (Runtime::set_linear_input), so an unset transform changes no result and costs a branch.
#include <cstddef>

namespace ss {

// One site per distinct input tensor: q, k and v read the same normed x, as gate and up do.
// Mixture-of-experts blocks and the LM head call no transform.
enum class LinearSite { AttnIn, AttnOut, FfnIn, FfnDown };
constexpr int kLinearSites = 4;

// "attn_in" (q, k, v), "attn_out" (o), "ffn_in" (gate, up), "ffn_down" (down).
inline const char* linear_site_name(LinearSite s) {
  constexpr const char* names[kLinearSites] = {"attn_in", "attn_out", "ffn_in", "ffn_down"};
  return names[static_cast<int>(s)];
}

class LinearInputTransform {
 public:
  virtual ~LinearInputTransform() = default;
  // x: the input [n][width] of the site's projections in `layer`, for the tokens at cache slots
  // pos0 .. pos0 + n - 1. Returns what the projections read: x itself, or scratch ([n][width],
  // the runtime's) once written. Called between the pool's jobs, from the calling thread.
  virtual const float* transform(int layer, LinearSite site, int pos0, int n, size_t width,
                                 const float* x, float* scratch) = 0;
};

}  // namespace ss
