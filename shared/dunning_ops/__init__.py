"""Operator tools: the CLI, the embedded local stack and the cost model. Installed by ``pip install
dunning[local]``; never shipped to Lambda."""
