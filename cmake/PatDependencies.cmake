# Every dependency is a Debian package (see tools/setup.sh); CUDA builds point Torch_DIR at an
# official LibTorch 2.x instead.
find_package(Torch REQUIRED)
find_package(OpenCV REQUIRED COMPONENTS core imgproc imgcodecs)
find_package(yaml-cpp REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(ICU REQUIRED COMPONENTS uc i18n)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)
# LibTorch's at::parallel_for is inline code that runs its loop on one thread unless the caller is compiled with
# the OpenMP LibTorch itself uses (official and Debian builds): PAT's own kernels need it.
find_package(OpenMP REQUIRED COMPONENTS CXX)
message(STATUS "PAT: LibTorch ${Torch_VERSION} at ${Torch_DIR}")
