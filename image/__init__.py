"""Building the Slicewise OCI image without a container engine (`make image`)."""
