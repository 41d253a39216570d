#include "pat/model/catseg/patch_upsample.h"

#include <torch/torch.h>

#include "pat/model/catseg/fast_paths.h"

namespace pat::model {
namespace {

/// The padding when it is explicit (not "valid"/"same"). The options hold a c10::variant in LibTorch 1.x and a
/// std::variant in 2.x: the visible get_if of the right kind is found either way.
template <typename Variant>
const torch::ExpandingArray<2>* explicit_padding(const Variant& padding) {
  using namespace std;
  using namespace c10;
  return get_if<torch::ExpandingArray<2>>(&padding);
}

}  // namespace

torch::Tensor patch_upsample(torch::nn::ConvTranspose2d& conv, const torch::Tensor& x) {
  const auto& o = conv->options;
  const int64_t k = (*o.kernel_size())[0];
  const auto* padding = explicit_padding(o.padding());
  const bool patches = (*o.kernel_size())[1] == k && (*o.stride())[0] == k && (*o.stride())[1] == k && padding &&
                       (**padding)[0] == 0 && (**padding)[1] == 0 && (*o.output_padding())[0] == 0 &&
                       (*o.output_padding())[1] == 0 && (*o.dilation())[0] == 1 && (*o.dilation())[1] == 1 &&
                       o.groups() == 1;
  // Without gradients only: one product over all images rounds a pixel's sums as the batch size makes BLAS block
  // them, and training keeps per-image arithmetic so that data-parallel runs equal one process's.
  if (!catseg_fast_paths().gemm_upsampling || !patches || x.dim() != 4 || torch::GradMode::is_enabled())
    return conv->forward(x);
  const int64_t n = x.size(0), cin = x.size(1), h = x.size(2), w = x.size(3), cout = conv->weight.size(1);
  // weight [C_in, C_out, k, k] -> columns ordered (a, b, C_out): each row of the product is a k x k x C_out patch.
  auto weight = conv->weight.permute({0, 2, 3, 1}).reshape({cin, k * k * cout});
  auto rows = x.permute({0, 2, 3, 1}).reshape({n * h * w, cin});  // a view when x is channels-last
  auto y = conv->bias.defined() ? torch::addmm(conv->bias.repeat({k * k}), rows, weight) : torch::mm(rows, weight);
  // [N, h, w, a, b, C_out] -> [N, h, a, w, b, C_out] = channels-last [N, C_out, h*k, w*k].
  auto out = y.view({n, h, w, k, k, cout}).permute({0, 1, 3, 2, 4, 5}).reshape({n, h * k, w * k, cout});
  out = out.permute({0, 3, 1, 2});
  return catseg_fast_paths().channels_last ? out : out.contiguous();
}

}  // namespace pat::model
