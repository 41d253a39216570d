// Anchor for the tools precompiled header.
