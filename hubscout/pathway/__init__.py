"""Hub-Pathway: learned per-input routes through the models of the hub, and their benchmark."""
