"""Background work in worker threads: submission, callbacks, expiry and cleanup, coordinated
through the store with expiring leases so any number of processes can run at once."""
