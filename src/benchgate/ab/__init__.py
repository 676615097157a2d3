"""Same-job A/B: the base revision and the working tree measured interleaved, judged in pairs."""
