"""``rewardkit audit``: out-of-fold margins, suspect pairs, flip-share estimates and cleaned
copies of a preference file (entry point :func:`rewardkit.audit.run.run_audit`)."""
