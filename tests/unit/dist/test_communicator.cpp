#include "pat/engine/dist/communicator.h"

#include <chrono>

#include <gtest/gtest.h>

#include "dist_test_util.h"
#include "pat/core/error.h"
#include "test_support.h"

using pat::engine::Communicator;

TEST(Communicator, OneProcessIsTheIdentity) {
  Communicator comm;
  EXPECT_EQ(comm.rank(), 0);
  EXPECT_EQ(comm.size(), 1);
  EXPECT_TRUE(comm.is_main());
  EXPECT_EQ(comm.backend(), "none");
  auto t = torch::tensor({1.0f, 2.0f});
  comm.all_reduce_sum(t);
  comm.broadcast(t, 0);
  comm.barrier();
  EXPECT_TRUE(torch::equal(t, torch::tensor({1.0f, 2.0f})));
  EXPECT_TRUE(torch::equal(comm.all_gather(t), t));
}

TEST(Communicator, GlooCollectives) {
  ASSERT_TRUE(pat::engine::dist_backend_available("gloo"));
  pat::test::run_ranks(3, [](Communicator& comm) {
    const int r = comm.rank();
    EXPECT_EQ(comm.size(), 3);
    EXPECT_EQ(comm.backend(), "gloo");
    auto sum = torch::full({2, 3}, static_cast<float>(r + 1));
    comm.all_reduce_sum(sum);
    EXPECT_TRUE(torch::equal(sum, torch::full({2, 3}, 6.0f)));
    auto counts = torch::tensor({int64_t{r}, int64_t{10}});
    comm.all_reduce_sum(counts);
    EXPECT_TRUE(torch::equal(counts, torch::tensor({int64_t{3}, int64_t{30}})));
    // Several tensors in one collective, a non-contiguous one among them.
    std::vector<torch::Tensor> many{torch::full({2}, 1.0f * r), torch::ones({3, 2}).t()};
    comm.all_reduce_sum(many);
    EXPECT_TRUE(torch::equal(many[0], torch::full({2}, 3.0f)));
    EXPECT_TRUE(torch::equal(many[1], torch::full({2, 3}, 3.0f)));
    auto from_one = torch::full({4}, static_cast<float>(r));
    comm.broadcast(from_one, 1);
    EXPECT_TRUE(torch::equal(from_one, torch::full({4}, 1.0f)));
    auto gathered = comm.all_gather(torch::full({1, 2}, static_cast<float>(r)));
    EXPECT_TRUE(torch::equal(gathered, torch::tensor({0.0f, 0.0f, 1.0f, 1.0f, 2.0f, 2.0f}).view({3, 2})));
    auto a = torch::full({5}, 1.0f), b = torch::full({7}, 2.0f);
    auto pa = comm.all_reduce_sum_async(a);
    auto pb = comm.all_reduce_sum_async(b);
    pa.wait();
    pb.wait();
    EXPECT_TRUE(torch::equal(a, torch::full({5}, 3.0f)));
    EXPECT_TRUE(torch::equal(b, torch::full({7}, 6.0f)));
    comm.barrier();
  });
}

TEST(Communicator, BadBackendOrMissingPeerIsAClearError) {
  const int port = pat::engine::free_local_port();
  pat::engine::CommunicatorOptions options;
  options.backend = "nccl";
  if (!pat::engine::dist_backend_available("nccl")) {
    try {
      Communicator comm(pat::test::rank_env(0, 2, port), torch::kCPU, options);
      ADD_FAILURE() << "no error";
    } catch (const pat::Error& e) {
      EXPECT_NE(std::string(e.what()).find("nccl"), std::string::npos) << e.what();
    }
  }
  // Rank 1 of 2 with nobody hosting the rendezvous: fails after the timeout, not never.
  options.backend = "gloo";
  options.timeout = std::chrono::seconds(2);
  const auto start = std::chrono::steady_clock::now();
  try {
    Communicator comm(pat::test::rank_env(1, 2, port), torch::kCPU, options);
    ADD_FAILURE() << "no error";
  } catch (const pat::Error& e) {
    EXPECT_NE(std::string(e.what()).find("rendezvous"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST(Communicator, NcclCollectivesOnTwoGpus_CUDA) {
  if (!pat::engine::dist_backend_available("nccl") || torch::cuda::device_count() < 2)
    GTEST_SKIP() << "needs a CUDA LibTorch with NCCL and two GPUs";
  pat::test::run_ranks(
      2,
      [](Communicator& comm) {
        const torch::Device gpu(torch::kCUDA, static_cast<int8_t>(comm.rank()));
        auto sum = torch::full({3}, static_cast<float>(comm.rank() + 1), gpu);
        comm.all_reduce_sum(sum);
        EXPECT_TRUE(torch::equal(sum.cpu(), torch::full({3}, 3.0f)));
        auto on_cpu = torch::tensor({int64_t{comm.rank()}});  // staged through the GPU
        comm.all_reduce_sum(on_cpu);
        EXPECT_EQ(on_cpu.item<int64_t>(), 1);
        EXPECT_TRUE(torch::equal(comm.all_gather(torch::full({1}, 1.0f * comm.rank(), gpu)).cpu(),
                                 torch::tensor({0.0f, 1.0f})));
      },
      "nccl");
}
