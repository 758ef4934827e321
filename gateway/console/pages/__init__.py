"""The console's server-rendered pages under `/console`."""
