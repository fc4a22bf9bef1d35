"""PyTorch building blocks (imported only when a command needs torch)."""
