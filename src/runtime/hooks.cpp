#include "runtime/hooks.h"

#include <stdexcept>

#include "base/error.h"
#include "base/thread_pool.h"

namespace ss {

void Observer::parallel_for(size_t n, const std::function<void(size_t, size_t, int)>& fn) const {
  if (pool_)
    pool_->parallel_for(n, fn);
  else if (n > 0)
    fn(0, n, 0);
}

const std::vector<HookPoint>& hook_points() {
  static const std::vector<HookPoint> table = {
      {Hook::ResidPre, "hook_resid_pre", "[n_tokens][dim]"},
      {Hook::Values, "attn.hook_v", "[n_tokens][n_kv_heads*head_dim]"},
      {Hook::Pattern, "attn.hook_pattern", "[pos + 1] per query and head"},
      {Hook::Z, "attn.hook_z", "[n_tokens][n_heads*head_dim]"},
      {Hook::MlpPost, "mlp.hook_post", "[n_tokens][hidden_dim]"},
      {Hook::ResidPost, "hook_resid_post", "[n_tokens][dim]"},
  };
  return table;
}

std::string hook_name(Hook hook, int layer) {
  for (const HookPoint& p : hook_points())
    if (p.hook == hook) return "blocks." + std::to_string(layer) + "." + p.name;
  throw std::logic_error("hook_name: a Hook missing from hook_points()");
}

std::pair<Hook, int> parse_hook_name(const std::string& name) {
  const std::string prefix = "blocks.";
  const size_t dot = name.find('.', prefix.size());
  if (name.compare(0, prefix.size(), prefix) == 0 && dot != std::string::npos &&
      dot > prefix.size()) {
    const std::string layer = name.substr(prefix.size(), dot - prefix.size());
    const bool digits =
        layer.size() <= 6 && layer.find_first_not_of("0123456789") == std::string::npos;
    for (const HookPoint& p : hook_points())
      if (digits && name.compare(dot + 1, std::string::npos, p.name) == 0)
        return {p.hook, std::stoi(layer)};
  }
  throw InputError(name,
                   "is not a hook name (blocks.{L}.hook_resid_pre, blocks.{L}.attn.hook_z, ...)");
}

}  // namespace ss
