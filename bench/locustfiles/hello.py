"""R0: the hello-world route under the production server; no think time (closed loop)."""

from common import MAX_REQUESTS  # noqa: F401 (installs the request cap)
from locust import FastHttpUser, constant, task


class Hello(FastHttpUser):
    wait_time = constant(0)

    @task
    def hello(self):
        self.client.get("/bench/hello", name="GET /bench/hello")
