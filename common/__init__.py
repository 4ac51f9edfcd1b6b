"""The floor every package stands on: progress reporting and thread helpers (imports nothing of ours)."""
