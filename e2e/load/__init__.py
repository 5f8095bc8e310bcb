"""Load: the plan's load test on Locust (protocol users), run as a subprocess (gevent must
never be imported into the pytest process), its results turned into the run's samples."""
