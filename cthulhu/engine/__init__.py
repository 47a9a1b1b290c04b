"""The training engine: graph building per mode, data feeding, and the loops."""
