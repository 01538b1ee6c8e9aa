"""Text-only selection: match a task's class names to concept nodes, rank models by label."""
