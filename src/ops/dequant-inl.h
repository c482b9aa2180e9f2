// The block dequantizers of the quantized types (layouts in ops/quants.h) for one SIMD variant:
// included inside a variant's target region, so the compiler vectorizes them for its ISA. Each is a
// fixed sequence of exact integer-to-float conversions and one rounding per product, so every
// variant gives the same values.
//
// Each dequantizer copies the packed arrays of a block to locals first: the loops then read
// memory that cannot alias dst, and GCC vectorizes them (reading in place, even with __restrict,
// it fell back to scalar code for some types; copying the whole odd-sized block at once instead
// stalls on store forwarding). The K-quants run in passes per super-block: unpack the quants into
// one byte per element with byte-wide operations, convert all 256 to f32 in one long loop, then
// scale each group with its f32 scale (and min). GCC vectorizes a loop with one vector size for
// all its types, so byte and f32 work mixed in one short loop ran on 4-lane vectors; and it fully
// unrolls 16-step loops and then vectorizes across groups with shuffles, which `unroll 1`
// prevents. Each change was 2-4x.

inline constexpr size_t kQ = 32;  // elements per legacy block

inline float dequant_f16(const uint8_t* p) {
  return half_to_f32(load_u16(p));
}

inline void dequantize_q4_0(const uint8_t* src, float* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += sizeof(BlockQ4_0), dst += kQ) {
    uint8_t qs[sizeof(BlockQ4_0::qs)];
    std::memcpy(qs, src + offsetof(BlockQ4_0, qs), sizeof qs);
    const float d = dequant_f16(src + offsetof(BlockQ4_0, d));
    for (int j = 0; j < 16; ++j) {
      dst[j] = d * static_cast<float>((qs[j] & 15) - 8);
      dst[j + 16] = d * static_cast<float>((qs[j] >> 4) - 8);
    }
  }
}

inline void dequantize_q4_1(const uint8_t* src, float* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += sizeof(BlockQ4_1), dst += kQ) {
    uint8_t qs[sizeof(BlockQ4_1::qs)];
    std::memcpy(qs, src + offsetof(BlockQ4_1, qs), sizeof qs);
    const float d = dequant_f16(src + offsetof(BlockQ4_1, d)),
                m = dequant_f16(src + offsetof(BlockQ4_1, m));
    for (int j = 0; j < 16; ++j) {
      dst[j] = d * static_cast<float>(qs[j] & 15) + m;
      dst[j + 16] = d * static_cast<float>(qs[j] >> 4) + m;
    }
  }
}

// Q5_0/Q5_1: bit j of the little-endian u32 qh, times 16, plus `offset`, as f32 in hi[j]; then
// the element loops mix only bytes and f32, as Q4_0 does, and GCC vectorizes them. (Shifting qh
// per element inside them, or assembling the 32 values in a byte array first, was 4-15x slower:
// 4-lane vectors, scalar code, store-forwarding stalls.)
inline void fifth_bits(const uint8_t* block_qh, float offset, float* hi) {
  const uint32_t qh = load_u32(block_qh);
  for (int j = 0; j < 32; ++j) hi[j] = static_cast<float>(((qh >> j) & 1) << 4) + offset;
}

inline void dequantize_q5_0(const uint8_t* src, float* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += sizeof(BlockQ5_0), dst += kQ) {
    uint8_t qs[16];
    float hi[32];
    std::memcpy(qs, src + offsetof(BlockQ5_0, qs), sizeof qs);
    fifth_bits(src + offsetof(BlockQ5_0, qh), -16.0f, hi);
    const float d = dequant_f16(src + offsetof(BlockQ5_0, d));
    for (int j = 0; j < 16; ++j) {  // sums of small integers: exact
      dst[j] = d * (static_cast<float>(qs[j] & 15) + hi[j]);
      dst[j + 16] = d * (static_cast<float>(qs[j] >> 4) + hi[j + 16]);
    }
  }
}

inline void dequantize_q5_1(const uint8_t* src, float* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += sizeof(BlockQ5_1), dst += kQ) {
    uint8_t qs[16];
    float hi[32];
    std::memcpy(qs, src + offsetof(BlockQ5_1, qs), sizeof qs);
    fifth_bits(src + offsetof(BlockQ5_1, qh), 0.0f, hi);
    const float d = dequant_f16(src + offsetof(BlockQ5_1, d));
    const float m = dequant_f16(src + offsetof(BlockQ5_1, m));
    for (int j = 0; j < 16; ++j) {
      dst[j] = d * (static_cast<float>(qs[j] & 15) + hi[j]) + m;
      dst[j + 16] = d * (static_cast<float>(qs[j] >> 4) + hi[j + 16]) + m;
    }
  }
}

inline void dequantize_q8_0(const uint8_t* src, float* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += sizeof(BlockQ8_0), dst += kQ) {
    int8_t qs[sizeof(BlockQ8_0::qs)];
    std::memcpy(qs, src + offsetof(BlockQ8_0, qs), sizeof qs);
    const float d = dequant_f16(src + offsetof(BlockQ8_0, d));
    for (size_t j = 0; j < kQ; ++j) dst[j] = d * static_cast<float>(qs[j]);
  }
}

inline void dequantize_q8_1(const uint8_t* src, float* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += sizeof(BlockQ8_1), dst += kQ) {
    int8_t qs[sizeof(BlockQ8_1::qs)];
    std::memcpy(qs, src + offsetof(BlockQ8_1, qs), sizeof qs);
    const float d = dequant_f16(src + offsetof(BlockQ8_1, d));
    for (size_t j = 0; j < kQ; ++j) dst[j] = d * static_cast<float>(qs[j]);
  }
}

// y[G t + i] = scale[t] * q[G t + i] - mins[t] for the 256 / G groups of a super-block.
template <int G, class Q>
inline void scale_groups(const Q* q, const float* scale, const float* mins, float* y) {
  float f[kQK];
  for (size_t e = 0; e < kQK; ++e) f[e] = static_cast<float>(q[e]);
  for (int t = 0; t < static_cast<int>(kQK) / G; ++t) {
    const float s = scale[t], m = mins[t];
#pragma GCC unroll 1
    for (int i = 0; i < G; ++i) y[G * t + i] = s * f[G * t + i] - m;
  }
}

// y[16t + i] = scale[t] * q[16t + i].
template <class Q>
inline void scale_groups(const Q* q, const float* scale, float* y) {
  float f[kQK];
  for (size_t e = 0; e < kQK; ++e) f[e] = static_cast<float>(q[e]);
  for (int t = 0; t < 16; ++t) {
    const float s = scale[t];
#pragma GCC unroll 1
    for (int i = 0; i < 16; ++i) y[16 * t + i] = s * f[16 * t + i];
  }
}

inline void dequantize_q2_k(const uint8_t* src, float* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += sizeof(BlockQ2_K), dst += kQK) {
    uint8_t scales[16], qs[64], q[kQK];
    std::memcpy(scales, src + offsetof(BlockQ2_K, scales), sizeof scales);
    std::memcpy(qs, src + offsetof(BlockQ2_K, qs), sizeof qs);
    const float d = dequant_f16(src + offsetof(BlockQ2_K, d));
    const float dmin = dequant_f16(src + offsetof(BlockQ2_K, dmin));
    for (int h = 0; h < 2; ++h)
      for (int k = 0; k < 4; ++k)
        for (int l = 0; l < 32; ++l)
          q[128 * h + 32 * k + l] = static_cast<uint8_t>((qs[32 * h + l] >> (2 * k)) & 3);
    float sc[16], mn[16];
    for (int t = 0; t < 16; ++t) {
      sc[t] = d * static_cast<float>(scales[t] & 15);
      mn[t] = dmin * static_cast<float>(scales[t] >> 4);
    }
    scale_groups<16>(q, sc, mn, dst);
  }
}

inline void dequantize_q3_k(const uint8_t* src, float* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += sizeof(BlockQ3_K), dst += kQK) {
    uint8_t hmask[32], qs[64], scales[12];
    int8_t q[kQK];
    std::memcpy(hmask, src + offsetof(BlockQ3_K, hmask), sizeof hmask);
    std::memcpy(qs, src + offsetof(BlockQ3_K, qs), sizeof qs);
    std::memcpy(scales, src + offsetof(BlockQ3_K, scales), sizeof scales);
    const float d = dequant_f16(src + offsetof(BlockQ3_K, d));
    for (int h = 0; h < 2; ++h)
      for (int k = 0; k < 4; ++k)
        for (int l = 0; l < 32; ++l) {
          const int v = ((qs[32 * h + l] >> (2 * k)) & 3) | (((hmask[l] >> (4 * h + k)) & 1) << 2);
          q[128 * h + 32 * k + l] = static_cast<int8_t>(v - 4);
        }
    float sc[16];
    for (int t = 0; t < 16; ++t) sc[t] = d * static_cast<float>(q3k_scale(scales, t) - 32);
    scale_groups(q, sc, dst);
  }
}

// Scales and mins of the eight 32-element sub-blocks of a Q4_K/Q5_K block.
inline void k4_group_scales(const uint8_t* scales, float d, float dmin, float* sc, float* mn) {
  for (int t = 0; t < 8; ++t) {
    int s, m;
    k4_scale_min(scales, t, s, m);
    sc[t] = d * static_cast<float>(s);
    mn[t] = dmin * static_cast<float>(m);
  }
}

inline void dequantize_q4_k(const uint8_t* src, float* dst, size_t nb) {
  // One pass: each loop step reads one byte and writes two f32 with 32 steps, which GCC
  // vectorizes well (faster here than the three passes).
  for (size_t b = 0; b < nb; ++b, src += sizeof(BlockQ4_K), dst += kQK) {
    uint8_t scales[12], qs[128];
    std::memcpy(scales, src + offsetof(BlockQ4_K, scales), sizeof scales);
    std::memcpy(qs, src + offsetof(BlockQ4_K, qs), sizeof qs);
    float sc[8], mn[8];
    k4_group_scales(scales, dequant_f16(src + offsetof(BlockQ4_K, d)),
                    dequant_f16(src + offsetof(BlockQ4_K, dmin)), sc, mn);
    for (int c = 0; c < 4; ++c) {
      const float d0 = sc[2 * c], m0 = mn[2 * c], d1 = sc[2 * c + 1], m1 = mn[2 * c + 1];
      const uint8_t* q = qs + 32 * c;
      float* y = dst + 64 * c;
      for (int l = 0; l < 32; ++l) {
        y[l] = d0 * static_cast<float>(q[l] & 15) - m0;
        y[l + 32] = d1 * static_cast<float>(q[l] >> 4) - m1;
      }
    }
  }
}

inline void dequantize_q5_k(const uint8_t* src, float* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += sizeof(BlockQ5_K), dst += kQK) {
    uint8_t scales[12], qh[32], qs[128], q[kQK];
    std::memcpy(scales, src + offsetof(BlockQ5_K, scales), sizeof scales);
    std::memcpy(qh, src + offsetof(BlockQ5_K, qh), sizeof qh);
    std::memcpy(qs, src + offsetof(BlockQ5_K, qs), sizeof qs);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) {
        q[64 * c + l] =
            static_cast<uint8_t>((qs[32 * c + l] & 15) | (((qh[l] >> (2 * c)) & 1) << 4));
        q[64 * c + 32 + l] =
            static_cast<uint8_t>((qs[32 * c + l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4));
      }
    float sc[8], mn[8];
    k4_group_scales(scales, dequant_f16(src + offsetof(BlockQ5_K, d)),
                    dequant_f16(src + offsetof(BlockQ5_K, dmin)), sc, mn);
    scale_groups<32>(q, sc, mn, dst);
  }
}

inline void dequantize_q6_k(const uint8_t* src, float* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += sizeof(BlockQ6_K), dst += kQK) {
    uint8_t ql[128], qh[64];
    int8_t scales[16], q[kQK];
    std::memcpy(ql, src + offsetof(BlockQ6_K, ql), sizeof ql);
    std::memcpy(qh, src + offsetof(BlockQ6_K, qh), sizeof qh);
    std::memcpy(scales, src + offsetof(BlockQ6_K, scales), sizeof scales);
    const float d = dequant_f16(src + offsetof(BlockQ6_K, d));
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 32; ++l) {
        const uint8_t lo = ql[64 * h + l], hi = ql[64 * h + 32 + l], top = qh[32 * h + l];
        int8_t* y = q + 128 * h + l;
        y[0] = static_cast<int8_t>(((lo & 15) | ((top & 3) << 4)) - 32);
        y[32] = static_cast<int8_t>(((hi & 15) | (((top >> 2) & 3) << 4)) - 32);
        y[64] = static_cast<int8_t>(((lo >> 4) | (((top >> 4) & 3) << 4)) - 32);
        y[96] = static_cast<int8_t>(((hi >> 4) | ((top >> 6) << 4)) - 32);
      }
    float sc[16];
    for (int t = 0; t < 16; ++t) sc[t] = d * static_cast<float>(scales[t]);
    scale_groups(q, sc, dst);
  }
}

inline void dequantize_q8_k(const uint8_t* src, float* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += sizeof(BlockQ8_K), dst += kQK) {
    float d;
    int8_t qs[kQK];
    std::memcpy(&d, src + offsetof(BlockQ8_K, d), sizeof d);
    std::memcpy(qs, src + offsetof(BlockQ8_K, qs), kQK);
    for (size_t j = 0; j < kQK; ++j) dst[j] = d * static_cast<float>(qs[j]);
  }
}

// MXFP4 looks its codes up in a table (ops/quants.h). The arithmetic forms tried instead (f32 or
// byte passes, assembling the f32 bits) were not vectorized for SSE2 or AVX2: 1.3-20x slower.
inline void dequantize_mxfp4(const uint8_t* src, float* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += sizeof(BlockMXFP4), dst += kQ) {
    uint8_t qs[sizeof(BlockMXFP4::qs)];
    std::memcpy(qs, src + offsetof(BlockMXFP4, qs), sizeof qs);
    const float d = mxfp4_half_scale(src[offsetof(BlockMXFP4, e)]);
    for (int j = 0; j < 16; ++j) {
      dst[j] = d * kMxfp4Doubled[qs[j] & 15];
      dst[j + 16] = d * kMxfp4Doubled[qs[j] >> 4];
    }
  }
}

// dst = the n values of a row of `type` at src (n a whole number of blocks: the caller checks,
// as ss::dequantize_row does).
inline void expand_row(DType type, const uint8_t* src, float* dst, size_t n) {
  switch (type) {
    case DType::F32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::F16:
      return f16_to_f32_row(src, dst, n);
    case DType::BF16:
      for (size_t i = 0; i < n; ++i)
        dst[i] = bf16_to_f32(static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8)));
      return;
    case DType::Q4_0:
      return dequantize_q4_0(src, dst, n / 32);
    case DType::Q4_1:
      return dequantize_q4_1(src, dst, n / 32);
    case DType::Q5_0:
      return dequantize_q5_0(src, dst, n / 32);
    case DType::Q5_1:
      return dequantize_q5_1(src, dst, n / 32);
    case DType::Q8_0:
      return dequantize_q8_0(src, dst, n / 32);
    case DType::Q8_1:
      return dequantize_q8_1(src, dst, n / 32);
    case DType::Q2_K:
      return dequantize_q2_k(src, dst, n / kQK);
    case DType::Q3_K:
      return dequantize_q3_k(src, dst, n / kQK);
    case DType::Q4_K:
      return dequantize_q4_k(src, dst, n / kQK);
    case DType::Q5_K:
      return dequantize_q5_k(src, dst, n / kQK);
    case DType::Q6_K:
      return dequantize_q6_k(src, dst, n / kQK);
    case DType::Q8_K:
      return dequantize_q8_k(src, dst, n / kQK);
    case DType::MXFP4:
      return dequantize_mxfp4(src, dst, n / 32);
    default:
      return;  // (ss::dequantize_row refuses the other types before calling a kernel)
  }
}
