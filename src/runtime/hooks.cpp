#include "runtime/hooks.h"

#include "base/thread_pool.h"

namespace ss {

void Observer::parallel_for(size_t n, const std::function<void(size_t, size_t, int)>& fn) const {
  if (pool_)
    pool_->parallel_for(n, fn);
  else if (n > 0)
    fn(0, n, 0);
}

std::string hook_name(Hook hook, int layer) {
  const std::string b = "blocks." + std::to_string(layer) + ".";
  switch (hook) {
    case Hook::ResidPre:
      return b + "hook_resid_pre";
    case Hook::Values:
      return b + "attn.hook_v";
    case Hook::Pattern:
      return b + "attn.hook_pattern";
    case Hook::Z:
      return b + "attn.hook_z";
    case Hook::MlpPost:
      return b + "mlp.hook_post";
    case Hook::ResidPost:
      return b + "hook_resid_post";
  }
  return b;
}

}  // namespace ss
