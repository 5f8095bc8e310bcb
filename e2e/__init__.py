"""staffsync-verify: the browser verification suite."""
