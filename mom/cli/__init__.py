"""Command-line tools: ``mom-policy`` (:mod:`mom.cli.policy`) checks, evaluates and tries out policies."""
