"""Remote storage under the daemon: a sensor that launches sync runs on the configured cadences."""
