set(PAT_APP_SOURCES
  app/cli.cpp
)
