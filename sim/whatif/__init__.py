"""What-if analysis: sweeps, the tuner and Sobol sensitivity over scenario fields."""
