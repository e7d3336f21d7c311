"""GET /api/v1/me with a bearer token (one token per simulated user)."""

from common import next_index, read_lines
from locust import FastHttpUser, constant, task

TOKENS = read_lines("BENCH_TOKENS_FILE")


class ApiMe(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.headers = {"Authorization": f"Bearer {TOKENS[next_index() % len(TOKENS)]}"}

    @task
    def me(self):
        self.client.get("/api/v1/me", name="GET /api/v1/me", headers=self.headers)
