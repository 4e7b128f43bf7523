"""What the tests share: tiny models, checkpoints, configs, workflow runs."""
