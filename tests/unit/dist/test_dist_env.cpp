#include "pat/engine/dist/env.h"

#include <map>
#include <string>

#include <gtest/gtest.h>

#include "pat/core/error.h"

namespace {

pat::engine::DistEnv read(const std::map<std::string, std::string>& vars) {
  return pat::engine::read_dist_env([&](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

}  // namespace

TEST(DistEnv, NoLauncherIsOneProcess) {
  auto env = read({});
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.rank, 0);
  EXPECT_FALSE(env.distributed());
  EXPECT_EQ(env.source, "single");
}

TEST(DistEnv, ReadsTorchrunContract) {
  auto env = read({{"RANK", "5"},
                   {"WORLD_SIZE", "8"},
                   {"LOCAL_RANK", "1"},
                   {"LOCAL_WORLD_SIZE", "4"},
                   {"MASTER_ADDR", "node7"},
                   {"MASTER_PORT", "29555"}});
  EXPECT_TRUE(env.distributed());
  EXPECT_EQ(env.source, "torchrun");
  EXPECT_EQ(env.rank, 5);
  EXPECT_EQ(env.world_size, 8);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.local_world_size, 4);
  EXPECT_EQ(env.master_addr, "node7");
  EXPECT_EQ(env.master_port, 29555);
}

TEST(DistEnv, TorchrunErrorsNameTheVariable) {
  const std::map<std::string, std::string> good = {
      {"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29500"}};
  auto with = [&](const std::string& key, const std::string& value) {
    auto vars = good;
    if (value.empty())
      vars.erase(key);
    else
      vars[key] = value;
    return vars;
  };
  auto expect_error = [](const std::map<std::string, std::string>& vars, const std::string& needle) {
    try {
      read(vars);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const pat::Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(with("WORLD_SIZE", ""), "WORLD_SIZE");
  expect_error(with("MASTER_PORT", ""), "MASTER_PORT");
  expect_error(with("RANK", "2"), "RANK");    // rank >= world size
  expect_error(with("RANK", "one"), "RANK");  // not a number
  expect_error(with("MASTER_PORT", "70000"), "MASTER_PORT");
  expect_error(with("WORLD_SIZE", "0"), "WORLD_SIZE");
}

TEST(DistEnv, ReadsSlurm) {
  auto env = read({{"SLURM_PROCID", "3"},
                   {"SLURM_NTASKS", "4"},
                   {"SLURM_LOCALID", "1"},
                   {"SLURM_NTASKS_PER_NODE", "2(x2)"},
                   {"SLURM_JOB_NODELIST", "gpu[07-08]"},
                   {"SLURM_JOB_ID", "123456"}});
  EXPECT_EQ(env.source, "slurm");
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.local_world_size, 2);
  EXPECT_EQ(env.master_addr, "gpu07");
  EXPECT_EQ(env.master_port, 20000 + 123456 % 20000);
  // MASTER_ADDR / MASTER_PORT win over the derived ones; the step's node list over the job's.
  auto explicit_env = read({{"SLURM_PROCID", "0"},
                            {"SLURM_NTASKS", "2"},
                            {"SLURM_STEP_NODELIST", "a1,b2"},
                            {"SLURM_JOB_NODELIST", "z[1-3]"},
                            {"MASTER_PORT", "31000"}});
  EXPECT_EQ(explicit_env.master_addr, "a1");
  EXPECT_EQ(explicit_env.master_port, 31000);
  EXPECT_THROW(read({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}}), pat::Error);  // nowhere to meet
}

TEST(DistEnv, FirstSlurmHost) {
  using pat::engine::first_slurm_host;
  EXPECT_EQ(first_slurm_host("node01"), "node01");
  EXPECT_EQ(first_slurm_host("gpu[03-05,9],cpu1"), "gpu03");
  EXPECT_EQ(first_slurm_host("a,b"), "a");
  EXPECT_EQ(first_slurm_host("rack[2,4]-n[01-02]"), "rack2-n01");
  EXPECT_THROW(first_slurm_host(""), pat::Error);
  EXPECT_THROW(first_slurm_host("gpu[03-05"), pat::Error);
}
