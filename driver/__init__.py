"""The driver: CLI, runner-agnostic training loop, solvers, checkpoints and the model file."""
