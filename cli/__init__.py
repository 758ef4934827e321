"""The `slicewise` command line."""
