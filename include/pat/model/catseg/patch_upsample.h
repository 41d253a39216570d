#pragma once
/// \file A transposed convolution whose kernel equals its stride (CAT-Seg's decoder and guidance upsamplers:
/// k2 s2, k4 s4) as one matrix product. The output patches do not overlap, so every input pixel's k x k
/// output patch is [C_in] x [C_in, k*k*C_out]: one GEMM over all pixels (channels-last rows), bias folded in,
/// then the patches laid out. LibTorch's CPU kernel (slow_conv_transpose2d) runs an unfold per image instead.

#include <torch/nn/modules/conv.h>
#include <torch/types.h>

namespace pat::model {

/// `conv(x)`, computed as one matrix product when the `gemm_upsampling` fast path is on, no gradients are
/// recorded, and `conv` has kernel == stride, no padding, no output padding, dilation 1 and one group (else
/// `conv->forward(x)`). The result
/// is in channels-last memory when the `channels_last` fast path is on, else contiguous.
torch::Tensor patch_upsample(torch::nn::ConvTranspose2d& conv, const torch::Tensor& x);

}  // namespace pat::model
