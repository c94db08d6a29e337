"""Admin for the hardware and LLM inventory and energy model fits."""
