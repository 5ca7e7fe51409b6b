"""AWS deployment of the pipeline as code: one CDK stack per component (docs/architecture.md)."""
