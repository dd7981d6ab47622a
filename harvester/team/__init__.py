"""Team mode: one service for a whole organisation (docs/team.md)."""
