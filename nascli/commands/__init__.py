"""CLI sub-apps, one module per noun; each imports heavy libraries inside its commands."""
