//! The policy file (`signet.policy`, `--policy FILE`): see docs/policy.md.
