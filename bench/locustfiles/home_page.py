"""GET / signed in: each simulated user sends a session cookie made by the scenario (no sign-in, no scrypt)."""

from common import next_index, read_lines
from locust import FastHttpUser, constant, task

COOKIES = read_lines("BENCH_SESSIONS_FILE")


class Home(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.headers = {"Cookie": COOKIES[next_index() % len(COOKIES)]}

    @task
    def home(self):
        with self.client.get("/", name="GET /", headers=self.headers, allow_redirects=False,
                             catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"status {resp.status_code}")
