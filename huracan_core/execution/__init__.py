"""Where the engine's work runs: Ray tasks under GPU-aware limits."""
