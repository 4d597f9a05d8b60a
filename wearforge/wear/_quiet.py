"""Keep Warp's start-up banner and per-module load lines out of the CLI's output (errors still show)."""

import warp as wp

if hasattr(wp, "LOG_ERROR"):  # Warp >= 1.18
    wp.config.log_level = max(wp.config.log_level, wp.LOG_ERROR)
else:
    wp.config.quiet = True
