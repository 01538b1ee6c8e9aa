"""Transferability estimation: rank models for a labeled target task without fine-tuning."""
