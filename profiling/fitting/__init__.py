"""Pure fitting maths (no Django): what a fit knows about where it was measured."""
