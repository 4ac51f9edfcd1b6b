"""Turn stored flows into stored scores for date T: feature snapshots with their extras, batch
scores with points and reasons. Sits between `training/` (which makes models) and `api/` (which
serves what is stored here)."""
