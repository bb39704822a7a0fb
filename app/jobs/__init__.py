"""Background work as one durable job queue: kinds, one claim API, leases, retries in the store.

A job kind is one handler plus one registration (``Registry.register``). Every job lives in the
jobs store with its own state machine, apart from the record it is about; the runner claims due
jobs per kind under an expiring lease, renews the lease while the handler runs, and writes the
handler's outcome (done, retry at a time, dead, run again at a time, wait for an event) back to
the store, conditional on still holding the lease.
"""
