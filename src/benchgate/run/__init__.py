"""Running benches: discovery, the bench output protocol, the runner, run files, disturbance."""
