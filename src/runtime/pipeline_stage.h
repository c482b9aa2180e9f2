#pragma once
// One stage of a pipeline of layers (docs/cluster.md): a Runtime with a stage runs only layers
// [first, end). A stage after the first receives the residual stream entering `first` instead of
// embedding the tokens; a stage before the last sends the stream leaving `end - 1` and makes no
// logits. The arithmetic of every layer is that of the whole model, so the last stage's results
// are bit for bit those of one runtime.
#include <cstddef>
#include <functional>

namespace ss {

struct PipelineStage {
  int first = 0, end = 0;
  // x [floats] f32: the residual stream of all tokens of the call, [n][dim].
  std::function<void(float* x, size_t floats)> receive;
  std::function<void(const float* x, size_t floats)> send;
};

}  // namespace ss
