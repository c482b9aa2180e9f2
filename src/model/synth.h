#pragma once
// Models with random weights of any shape and dtype, for tests and benchmarks.
#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"

namespace ss {

// Weights ~ N(0, 1/sqrt(fan_in)) from a seeded generator; norms are 1 + small noise.
// Matrices are stored as weight_type (F32, F16, BF16 or Q8_0).
Model make_random_model(const ModelConfig& config, uint64_t seed, DType weight_type = DType::F32,
                        bool tied_output = true);

// The configuration `synth --shape tiny|small` writes for an architecture (vocab_size left 0):
// small enough for tests, with each architecture's peculiarities visible (its ArchSpec's
// synth_shape adjusts the common llama shape). Throws InputError for an unknown shape.
ModelConfig synth_shape(const std::string& arch, const std::string& shape);

// A deep copy whose tensors live in the model's own buffers, so they can be edited.
Model clone_model(const Model& m);

// A new f32 tensor owned by the model (e.g. a bias added by pruning).
Tensor add_owned_f32(Model& m, const std::string& name, std::vector<int64_t> ne,
                     const std::vector<float>& values);

// Mutable access to a tensor's bytes in a model made by make_random_model or clone_model.
uint8_t* mutable_data(Model& m, const Tensor& t);

}  // namespace ss
