#include "pat/engine/dist/data_parallel.h"

#include <gtest/gtest.h>

#include "dist_test_util.h"
#include "pat/model/pat/quantizer_ema.h"
#include "test_support.h"

using pat::engine::Communicator;

TEST(DataParallel, AveragesGradientsInBuckets) {
  pat::test::run_ranks(2, [](Communicator& comm) {
    const float r = static_cast<float>(comm.rank());
    auto both = torch::zeros({3, 4}, torch::requires_grad());
    auto one = torch::zeros({5}, torch::requires_grad());
    auto none = torch::zeros({2}, torch::requires_grad());
    auto wide = torch::zeros({2}, torch::dtype(torch::kFloat64).requires_grad(true));
    both.mutable_grad() = torch::full({3, 4}, r + 1);                   // 1 and 2: mean 1.5
    if (comm.rank() == 1) one.mutable_grad() = torch::full({5}, 4.0f);  // only rank 1: mean 2
    wide.mutable_grad() = torch::full({2}, 10.0 * r, torch::kFloat64);
    // A 16-byte bucket limit puts (almost) every gradient in a bucket of its own.
    pat::engine::average_gradients(comm, {both, one, none, wide}, 16);
    EXPECT_TRUE(torch::equal(both.grad(), torch::full({3, 4}, 1.5f)));
    ASSERT_TRUE(one.grad().defined());
    EXPECT_TRUE(torch::equal(one.grad(), torch::full({5}, 2.0f)));
    EXPECT_FALSE(none.grad().defined());
    EXPECT_TRUE(torch::equal(wide.grad(), torch::full({2}, 5.0, torch::kFloat64)));
  });
}

TEST(DataParallel, BroadcastMakesTheRanksAgree) {
  pat::test::run_ranks(2, [](Communicator& comm) {
    torch::nn::Linear layer(3, 2);
    {
      torch::NoGradGuard no_grad;
      layer->weight.fill_(static_cast<float>(comm.rank() + 1));
    }
    EXPECT_FALSE(pat::engine::module_agrees_across_ranks(comm, *layer));
    pat::engine::broadcast_module(comm, *layer);
    EXPECT_TRUE(torch::equal(layer->weight, torch::ones({2, 3})));
    EXPECT_TRUE(pat::engine::module_agrees_across_ranks(comm, *layer));
    {
      torch::NoGradGuard no_grad;
      if (comm.rank() == 1) layer->bias[0] = std::nextafter(layer->bias[0].item<float>(), 1.0f);  // one ulp
    }
    EXPECT_FALSE(pat::engine::module_agrees_across_ranks(comm, *layer));
  });
}

namespace {

pat::model::QuantizerOptions codebook_options(int64_t dead_code_steps) {
  pat::model::QuantizerOptions o;
  o.dim = 4;
  o.codebook_size = 24;
  o.decay = 0.8;
  o.dead_code_steps = dead_code_steps;
  return o;
}

/// Rank r's inputs at step s: [2, 4, 3, 3] unit vectors, different per rank and step.
torch::Tensor rank_inputs(int rank, int step) {
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(100 * step + rank));
  auto z = torch::randn({2, 4, 3, 3}, gen);
  return z / z.norm(2, 1, true);
}

}  // namespace

TEST(DataParallel, CodebooksStayIdenticalAcrossRanks) {
  // Dead codes every step (a small batch, many codes): restarts (at the end of each optimizer step) draw
  // from both ranks' inputs.
  std::vector<torch::Tensor> books(2);
  pat::test::run_ranks(2, [&](Communicator& comm) {
    pat::model::EmaQuantizer q(codebook_options(1));
    pat::engine::broadcast_module(comm, *q);
    pat::engine::sync_codebooks(comm, *q);
    q->train();
    for (int step = 0; step < 6; ++step) {
      q->forward(rank_inputs(comm.rank(), step));
      q->end_step();
    }
    EXPECT_TRUE(pat::engine::module_agrees_across_ranks(comm, *q));
    books[static_cast<size_t>(comm.rank())] = q->codebook().clone();
  });
  EXPECT_TRUE(torch::equal(books[0], books[1]));
}

TEST(DataParallel, CodebookEqualsOneProcessWithTheWholeBatch) {
  // Without restarts (no random draw) the EMA statistics alone decide: two ranks with half the batch
  // each keep the codebook of one process with the whole batch.
  torch::manual_seed(3);
  pat::model::EmaQuantizer reference(codebook_options(0));
  const auto start = reference->codebook().clone();
  reference->train();
  for (int step = 0; step < 5; ++step) reference->forward(torch::cat({rank_inputs(0, step), rank_inputs(1, step)}));
  std::vector<torch::Tensor> books(2);
  pat::test::run_ranks(2, [&](Communicator& comm) {
    pat::model::EmaQuantizer q(codebook_options(0));
    {
      torch::NoGradGuard no_grad;
      q->codebook().copy_(start);
      q->ema_sums().copy_(start);
    }
    pat::engine::sync_codebooks(comm, *q);
    q->train();
    for (int step = 0; step < 5; ++step) q->forward(rank_inputs(comm.rank(), step));
    books[static_cast<size_t>(comm.rank())] = q->codebook().clone();
  });
  EXPECT_TENSOR_CLOSE(books[0], reference->codebook(), 0, 1e-6);
  EXPECT_TENSOR_CLOSE(books[1], reference->codebook(), 0, 1e-6);
}
