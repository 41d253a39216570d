set(PAT_CORE_SOURCES
  core/error.cpp
  core/log.cpp
  core/runtime.cpp
  core/npy.cpp
  core/safetensors.cpp
  core/fs.cpp
)
