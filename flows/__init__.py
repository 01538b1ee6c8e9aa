"""Prefect flows: the deployment entrypoints (`flows/<name>.py:<flow>`)."""
