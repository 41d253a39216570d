set(PAT_APP_SOURCES
  app/cli.cpp
  app/model_files.cpp
)
